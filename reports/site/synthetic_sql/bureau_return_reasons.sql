CREATE OR REPLACE TABLE bureau_return_reasons AS
SELECT $as_of AS as_of, r AS return_reason, (40 - 9 * i)::BIGINT AS applications,
       (20 - 5 * i)::BIGINT AS applications_12m
FROM (SELECT unnest(['材料不全', '社保缴纳记录不连续', '照片不符合要求', '工作业绩描述不足']) AS r,
             generate_subscripts(['a', 'b', 'c', 'd'], 1) AS i)
