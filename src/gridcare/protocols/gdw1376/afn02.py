"""AFN 02H link test: F1 login, F2 logout, F3 heartbeat.

Sent by the terminal (DIR = 1, PRM = 1, function 9 "link test", CON = 1) with p0 and no data; the master
station answers with AFN 00H F1 (confirm all). Bytes after the unit (some terminals add a clock) are
kept in the warning and otherwise ignored.
"""

from __future__ import annotations

from gridcare.protocols.gdw1376.spec import FnSpec, empty

F_LOGIN = 1
F_LOGOUT = 2
F_HEARTBEAT = 3

SPECS: dict[tuple[int, int], FnSpec] = {
    (0x02, F_LOGIN): empty("login (登录)", sole=True),
    (0x02, F_LOGOUT): empty("logout (退出登录)", sole=True),
    (0x02, F_HEARTBEAT): empty("heartbeat (心跳)", sole=True),
}
