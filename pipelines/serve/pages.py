"""The server's own pages (login, activation, password change, messages):
Chinese first, ``?lang=en`` for English, every form with its CSRF token.
Also the small session bar added to the site's HTML pages (user, password
change, log-out form)."""
from __future__ import annotations

from html import escape

from jinja2 import Environment

_env = Environment(autoescape=True)

T = {
    "title": ("北京市工作居住证 · 数据看板", "Beijing Work Residence Permit · Dashboards"),
    "login": ("登录", "Sign in"),
    "username": ("用户名(单位请填写统一社会信用代码)", "User name (employers: unified social credit code)"),
    "password": ("密码", "Password"),
    "submit_login": ("登录", "Sign in"),
    "activate": ("激活账号", "Activate your account"),
    "activate_link": ("收到激活码?激活账号", "Got an activation code? Activate your account"),
    "code": ("激活码", "Activation code"),
    "new_password": ("新密码(至少10个字符)", "New password (at least 10 characters)"),
    "confirm": ("再次输入新密码", "Repeat the new password"),
    "submit_activate": ("激活并登录", "Activate and sign in"),
    "change": ("修改密码", "Change password"),
    "current": ("当前密码", "Current password"),
    "submit_change": ("保存新密码", "Save the new password"),
    "bad_login": ("用户名或密码不正确。", "Wrong user name or password."),
    "locked": ("尝试次数过多,请 {m} 分钟后再试。", "Too many attempts: try again in {m} minutes."),
    "bad_code": ("用户名或激活码不正确,或激活码已使用、已过期。",
                 "Wrong user name or activation code, or the code was used or has expired."),
    "mismatch": ("两次输入的新密码不一致。", "The two new passwords differ."),
    "bad_current": ("当前密码不正确。", "The current password is wrong."),
    "changed": ("密码已修改。", "Your password was changed."),
    "sso_no_password": ("您通过单点登录访问,密码由单点登录系统管理。",
                        "You signed in through single sign-on; your password is managed there."),
    "csrf": ("表单已过期,请重新提交。", "The form expired; please submit it again."),
    "no_account": ("单点登录用户没有本系统账号或账号已停用。",
                   "The single sign-on user has no account here, or it is disabled."),
    "back": ("返回", "Back"),
    "logout": ("退出登录", "Sign out"),
    "signed_in": ("已登录", "Signed in as"),
    "not_found": ("页面不存在或无权访问。", "No such page, or not yours to see."),
    "unavailable": ("网站正在发布,请稍后刷新。", "The site is being published; reload in a moment."),
    "switch": ("English", "中文"),
}

_PAGE = _env.from_string("""<!DOCTYPE html>
<html lang="{{ 'en' if en else 'zh-CN' }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t('title') }}</title>
<style>
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;background:#f4f6f9;margin:0;color:#1f2933}
.box{max-width:420px;margin:8vh auto;background:#fff;padding:28px 32px;border-radius:8px;box-shadow:0 2px 10px rgba(0,0,0,.08)}
h1{font-size:18px;margin:0 0 4px} h2{font-size:22px;margin:8px 0 20px}
label{display:block;margin:14px 0 4px;font-size:14px} input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;font-size:15px;border:1px solid #b8c2cc;border-radius:4px}
button{margin-top:20px;width:100%;padding:10px;font-size:16px;background:#1d4ed8;color:#fff;border:0;border-radius:4px;cursor:pointer}
.err{background:#fdecea;color:#8a1c1c;padding:8px 10px;border-radius:4px;margin-top:12px}
.ok{background:#e7f6ec;color:#14532d;padding:8px 10px;border-radius:4px;margin-top:12px}
.lang{float:right;font-size:14px} .links{margin-top:18px;font-size:14px}
</style></head>
<body><div class="box">
<a class="lang" id="lang-switch" href="?lang={{ 'zh' if en else 'en' }}{{ extra_query }}">{{ t('switch') }}</a>
<h1>{{ t('title') }}</h1>
<h2>{{ heading }}</h2>
{% if message %}<div class="{{ 'ok' if ok else 'err' }}" id="message">{{ message }}</div>{% endif %}
{% macro field(name, kind, ac, value=None, focus=False) -%}
<label for="{{ name }}">{{ t(name) }}</label><input type="{{ kind }}" id="{{ name }}" name="{{ name }}"{% if value is not none %} value="{{ value }}"{% endif %} autocomplete="{{ ac }}" required{% if focus %} autofocus{% endif %}>
{%- endmacro %}
{% macro open_form(action) -%}
<form method="post" action="/{{ action }}" id="{{ action }}-form">
<input type="hidden" name="csrf" value="{{ csrf }}">{{ caller() }}<input type="hidden" name="lang" value="{{ 'en' if en else 'zh' }}">
{%- endmacro %}
{% macro new_pw() -%}
{{ field('new_password', 'password', 'new-password') }}
{{ field('confirm', 'password', 'new-password') }}
{%- endmacro %}
{% if form == 'login' %}
{% call open_form('login') %}<input type="hidden" name="next" value="{{ next }}">{% endcall %}
{{ field('username', 'text', 'username', username, focus=True) }}
{{ field('password', 'password', 'current-password') }}
<button type="submit">{{ t('submit_login') }}</button>
</form>
<div class="links"><a href="/activate{{ '?lang=en' if en else '' }}">{{ t('activate_link') }}</a></div>
{% elif form == 'activate' %}
{% call open_form('activate') %}{% endcall %}
{{ field('username', 'text', 'username', username) }}
{{ field('code', 'text', 'one-time-code') }}
{{ new_pw() }}
<button type="submit">{{ t('submit_activate') }}</button>
</form>
<div class="links"><a href="/login{{ '?lang=en' if en else '' }}">{{ t('login') }}</a></div>
{% elif form == 'password' %}
{% call open_form('password') %}{% endcall %}
{{ field('current', 'password', 'current-password') }}
{{ new_pw() }}
<button type="submit">{{ t('submit_change') }}</button>
</form>
<div class="links"><a href="/">{{ t('back') }}</a></div>
{% else %}
<div class="links"><a href="/">{{ t('back') }}</a></div>
{% endif %}
</div></body></html>
""")


def text(k: str, en: bool, **kw) -> str:
    return T[k][1 if en else 0].format(**kw)


def render(form: str, *, en: bool, heading: str, csrf: str = "", message: str = "", ok: bool = False,
           username: str = "", next: str = "/", extra_query: str = "") -> str:
    return _PAGE.render(t=lambda k: text(k, en), en=en, form=form, heading=heading, csrf=csrf, message=message,
                        ok=ok, username=username, next=next, extra_query=extra_query)


def session_bar(display: str, csrf: str) -> bytes:
    """Inserted before </body> of every served site page: who is signed in, the
    password link and the log-out form (bilingual like the site: spans with
    class i18n and lang, which the site's CSS shows by the page's language)."""
    def t(k):
        return (f'<span class="i18n" lang="zh-CN">{escape(T[k][0])}</span>'
                f'<span class="i18n" lang="en">{escape(T[k][1])}</span>')
    return (f'<div id="permits-session" style="position:fixed;bottom:8px;right:10px;z-index:1000;font-size:12px;'
            f'background:rgba(255,255,255,.92);padding:3px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.2)">'
            f'{t("signed_in")} <b>{escape(display)}</b> · <a href="/password">{t("change")}</a> · '
            f'<form method="post" action="/logout" style="display:inline"><input type="hidden" name="csrf" '
            f'value="{escape(csrf)}"><button type="submit" id="logout-button" style="font-size:12px;padding:1px 6px;'
            f'cursor:pointer">{t("logout")}</button></form></div>').encode("utf-8")
