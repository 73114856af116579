"""hinet.constants against the protocol crate it mirrors: a value that differs fails; a
constant the crate gained that Python lacks is reported as a warning (add it to
hinet/constants.py under WinHTTP's name)."""

import re
import warnings
from pathlib import Path

import pytest

from hinet import constants as C

PROTOCOL = Path(__file__).resolve().parents[3] / "protocol" / "src"

# Rust module (in consts.rs / status.rs) -> the prefix WinHTTP gives its constants.
PREFIXES = {
    "access_type": "WINHTTP_ACCESS_TYPE_",
    "open_flag": "WINHTTP_FLAG_",
    "request_flag": "WINHTTP_FLAG_",
    "scheme": "INTERNET_SCHEME_",
    "handle_type": "WINHTTP_HANDLE_TYPE_",
    "addreq": "WINHTTP_ADDREQ_",
    "query": "WINHTTP_QUERY_",
    "option": "WINHTTP_OPTION_",
    "security_flag": "SECURITY_FLAG_",
    "disable": "WINHTTP_DISABLE_",
    "icu": "ICU_",
    "flag": "WINHTTP_CALLBACK_FLAG_",
    "secure_failure": "WINHTTP_CALLBACK_STATUS_FLAG_",
    "api": "API_",
    "hinet_option": "HINET_OPTION_",
    "secure_protocol": "WINHTTP_FLAG_SECURE_PROTOCOL_",
    "http_protocol": "WINHTTP_PROTOCOL_FLAG_",
    "decompression": "WINHTTP_DECOMPRESSION_FLAG_",
    "autologon": "WINHTTP_AUTOLOGON_SECURITY_LEVEL_",
    "enable_feature": "WINHTTP_ENABLE_",
    "redirect_policy": "WINHTTP_OPTION_REDIRECT_POLICY_",
    "auth_scheme": "WINHTTP_AUTH_SCHEME_",
    "auth_target": "WINHTTP_AUTH_TARGET_",
}
# hinetd-internal helpers with no WinHTTP name.
SKIP = {("security_flag", "SETTABLE")}


def _number(text):
    text = text.strip().replace("_", "")
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _rust_consts(path):
    """(module, name, value) for every `pub const NAME: uN = <literal>;` in a `pub mod`."""
    out, module = [], None
    for line in path.read_text().splitlines():
        opened = re.match(r"\s*pub mod (\w+) \{", line)
        if opened:
            module = opened.group(1)
        elif line.startswith("}"):
            module = None
        const = re.match(r"\s*pub const (\w+): u\d+ = (0x[0-9A-Fa-f_]+|\d+);", line)
        if const and module:
            out.append((module, const.group(1), _number(const.group(2))))
    return out


def _macro_list(path, macro):
    body = path.read_text().split(f"{macro}! {{", 1)[1].split("}", 1)[0]
    return [(name, _number(value)) for name, value in re.findall(r"(\w+) = (0x[0-9A-Fa-f_]+|\d+)", body)]


pytestmark = pytest.mark.skipif(not PROTOCOL.is_dir(), reason="protocol crate sources not present")


def test_flags_options_and_levels_match_the_protocol_crate():
    rows = _rust_consts(PROTOCOL / "consts.rs") + _rust_consts(PROTOCOL / "status.rs")
    checked, missing = 0, []
    for module, name, value in rows:
        if module not in PREFIXES or (module, name) in SKIP:
            continue
        py_name = PREFIXES[module] + name
        if not hasattr(C, py_name):
            missing.append(f"{py_name} = {value:#x}  # {module}::{name}")
            continue
        assert getattr(C, py_name) == value, f"{module}::{name} = {value:#x} but {py_name} differs"
        checked += 1
    assert checked > 150
    if missing:
        warnings.warn("hinet.constants lacks: " + "; ".join(missing))


def test_statuses_and_errors_match_the_protocol_crate():
    statuses = _macro_list(PROTOCOL / "status.rs", "statuses")
    assert len(statuses) >= 22
    for name, value in statuses:
        if not hasattr(C, "WINHTTP_CALLBACK_STATUS_" + name):
            warnings.warn(f"hinet.constants lacks WINHTTP_CALLBACK_STATUS_{name} = {value:#x}")
            continue
        assert getattr(C, "WINHTTP_CALLBACK_STATUS_" + name) == value
        assert C.status_name(value) == name
    errors = _macro_list(PROTOCOL / "error.rs", "error_codes")
    assert len(errors) > 40
    missing = [f"{name} = {value}" for name, value in errors if not hasattr(C, name)]
    for name, value in errors:
        if hasattr(C, name):
            assert getattr(C, name) == value and C.error_name(value) == name
    if missing:
        warnings.warn("hinet.constants lacks: " + "; ".join(missing))
