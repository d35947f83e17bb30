"""The notification configuration file (YAML).

Values may name environment variables: ``${WECOM_HR_URL}`` (whole value or
inside a string); an unset variable is an error naming the key. Webhook URLs,
SMTP passwords and robot secrets live only here and in the process's memory:
they are never written to the warehouse, the ledger, the logs or the site
(``NotifyConfig.scrub`` removes them from any text that could carry them).

```yaml
base_url: https://permits.example.gov.cn      # optional: link to each employer's served page
smtp:                                          # optional: without it e-mail deliveries are skipped
  host: smtp.example.cn
  port: 465
  security: tls            # tls | starttls | none (none only for 127.0.0.1)
  username: notify@example.cn
  password: ${SMTP_PASSWORD}
  from: "工作居住证提醒 <notify@example.cn>"
  cafile: /etc/ssl/private-relay.pem   # optional: trust this CA too
channels:                  # chat channels named by employer_contacts.channels
  wecom-hr-acme: {type: wecom, url: "${WECOM_HR_URL}"}
  dingtalk-hr-acme: {type: dingtalk, url: "${DINGTALK_URL}", secret: "${DINGTALK_SECRET}"}
bureau:                    # the bureau's daily summary
  email: [permits@bureau.example.gov.cn]
  channels: [wecom-bureau]
retries: 3                 # attempts per delivery and run
backoff_seconds: 2         # waits 2, 4, 8 … between attempts
timeout_seconds: 20
breaker_failures: 3        # consecutive failures after which a channel is left for the next run
```
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CHAT_TYPES = ("wecom", "dingtalk")
SECURITY = ("tls", "starttls", "none")


class ConfigError(ValueError):
    """The configuration file is wrong; the message names the file and key (never a secret value)."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str
    sender: str
    username: str = ""
    password: str = ""
    cafile: str = ""  # a CA bundle to trust besides the system's (a private relay's certificate)


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    url: str
    secret: str = ""


@dataclass
class NotifyConfig:
    path: str = ""
    base_url: str = ""
    smtp: Smtp | None = None
    channels: dict[str, Channel] = field(default_factory=dict)
    bureau_email: list[str] = field(default_factory=list)
    bureau_channels: list[str] = field(default_factory=list)
    retries: int = 3
    backoff_seconds: float = 2.0
    timeout_seconds: float = 20.0
    breaker_failures: int = 3

    def secrets(self) -> list[str]:
        out = [c.url for c in self.channels.values()] + [c.secret for c in self.channels.values()]
        for c in self.channels.values():  # the token in a webhook URL's query (key=…, access_token=…)
            out += [v for vals in parse_qs(urlsplit(c.url).query).values() for v in vals]
        if self.smtp:
            out.append(self.smtp.password)
        return [s for s in out if s and len(s) >= 4]

    def scrub(self, text: str) -> str:
        """``text`` with every configured URL and secret (and any URL at all) removed."""
        text = str(text)
        for s in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(s, "***")
        return re.sub(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", "<url>", text)


def _expand(value, where: str, env: dict):
    if isinstance(value, str):
        def one(m):
            if m.group(1) not in env:
                raise ConfigError(f"{where}: environment variable {m.group(1)} is not set / 环境变量未设置")
            return env[m.group(1)]
        return _ENV.sub(one, value)
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", env) for k, v in value.items()}
    return value


def _list(v) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in (v if isinstance(v, list) else [v])]


def parse_config(data: dict, path: str = "<config>", env: dict | None = None) -> NotifyConfig:
    env = dict(os.environ) if env is None else env
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the file must hold a mapping / 配置文件格式错误")
    data = _expand(data, path, env)
    cfg = NotifyConfig(path=path, base_url=str(data.get("base_url") or "").rstrip("/"))
    for key in ("retries", "breaker_failures"):
        if key in data:
            cfg.__setattr__(key, int(data[key]))
    for key in ("backoff_seconds", "timeout_seconds"):
        if key in data:
            cfg.__setattr__(key, float(data[key]))
    if cfg.retries < 1:
        raise ConfigError(f"{path}: retries must be at least 1")
    s = data.get("smtp")
    if s:
        sec = str(s.get("security", "starttls")).lower()
        if sec not in SECURITY:
            raise ConfigError(f"{path}: smtp.security must be one of {', '.join(SECURITY)}")
        host = str(s.get("host") or "")
        if not host or not s.get("from"):
            raise ConfigError(f"{path}: smtp needs host and from / smtp 缺少 host 或 from")
        if sec == "none" and host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"{path}: smtp.security none is only allowed for a loopback host / 明文 SMTP 仅限本机")
        port = int(s.get("port") or (465 if sec == "tls" else 587 if sec == "starttls" else 25))
        cfg.smtp = Smtp(host=host, port=port, security=sec, sender=str(s["from"]),
                        username=str(s.get("username") or ""), password=str(s.get("password") or ""),
                        cafile=str(s.get("cafile") or ""))
    for name, c in (data.get("channels") or {}).items():
        c = c or {}
        typ = str(c.get("type") or "").lower()
        if typ not in CHAT_TYPES:
            raise ConfigError(f"{path}: channels.{name}.type must be wecom or dingtalk")
        if not c.get("url"):
            raise ConfigError(f"{path}: channels.{name}.url is missing / 缺少 webhook 地址")
        cfg.channels[str(name)] = Channel(name=str(name), type=typ, url=str(c["url"]), secret=str(c.get("secret") or ""))
    b = data.get("bureau") or {}
    cfg.bureau_email = _list(b.get("email"))
    cfg.bureau_channels = _list(b.get("channels"))
    for ch in cfg.bureau_channels:
        if ch not in cfg.channels:
            raise ConfigError(f"{path}: bureau.channels names {ch}, which is not under channels")
    return cfg


def load_config(path: Path | str | None, env: dict | None = None) -> NotifyConfig | None:
    """The configuration at ``path``; None when no path is given or the file does not exist."""
    if not path:
        return None
    p = Path(path)
    if not p.exists():
        return None
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({type(exc).__name__}) / 配置文件不是有效的 YAML") from None
    return parse_config(data, str(p), env)


def split_channels(text: str | None) -> list[str]:
    """``employer_contacts.channels``: names separated by ``,`` ``、`` or ``;`` (also full-width)."""
    if not text:
        return []
    return [p.strip() for p in re.split(r"[,，、;；]", text) if p.strip()]
