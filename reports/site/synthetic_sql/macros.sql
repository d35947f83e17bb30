-- Macros of the synthetic site warehouse (reports/site/synthetic.py). Deterministic per row number:
-- h(x, k) is a hash of row x for purpose k (the seed is the variable synthetic_seed, set by the builder).
CREATE OR REPLACE MACRO h(x, k) AS (hash(x * 7919 + k + getvariable('synthetic_seed')) % 1000000)::BIGINT;
CREATE OR REPLACE MACRO pick(lst, x, k) AS lst[1 + (h(x, k) % len(lst))::INTEGER];
CREATE OR REPLACE MACRO synthetic_surnames() AS '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
CREATE OR REPLACE MACRO synthetic_given() AS '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华';
CREATE OR REPLACE MACRO pname(x) AS
    substr(synthetic_surnames(), 1 + (h(x, 11) % length(synthetic_surnames()))::INTEGER, 1)
    || substr(synthetic_given(), 1 + (h(x, 12) % length(synthetic_given()))::INTEGER, 1)
    || CASE WHEN h(x, 13) % 2 = 0
            THEN substr(synthetic_given(), 1 + (h(x, 14) % length(synthetic_given()))::INTEGER, 1) ELSE '' END;
CREATE OR REPLACE MACRO pid(x) AS
    '110105' || strftime(DATE '1970-01-01' + INTERVAL (h(x, 21) % 12000) DAY, '%Y%m%d')
    || lpad(CAST(h(x, 22) % 1000 AS VARCHAR), 3, '0')
    || CASE WHEN h(x, 23) % 11 = 0 THEN 'X' ELSE CAST(h(x, 23) % 10 AS VARCHAR) END;
CREATE OR REPLACE MACRO uscc_of(i) AS '9111010' || 'MA' || lpad(CAST(i AS VARCHAR), 8, '0') || 'X';
