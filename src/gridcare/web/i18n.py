"""Console labels, Chinese first and English second.

The language comes from ``?lang=zh|en`` on the request, else the ``lang`` cookie (set by
``GET /lang/{code}``), else Chinese. Labels are a small dict; a missing key shows the key itself so a gap is
visible, not silent.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "lang"

LABELS: dict[str, tuple[str, str]] = {
    # layout
    "product": ("营销计量采集平台", "Metering & Marketing Platform"),
    "home": ("首页", "Home"),
    "areas": ("台区", "Transformer areas"),
    "customers": ("客户", "Customers"),
    "terminals": ("采集终端", "Terminals"),
    "quality": ("数据质量", "Data quality"),
    "lineloss": ("线损", "Line loss"),
    "alerts": ("风险预警", "Alerts"),
    "audit": ("审计日志", "Audit trail"),
    "users": ("账号管理", "Accounts"),
    "api_docs": ("API 文档", "API docs"),
    "logout": ("退出登录", "Log out"),
    "switch_lang": ("English", "中文"),
    "org_tree": ("组织机构", "Organisations"),
    "all_units": ("全部单位", "All units"),
    "scope": ("范围", "Scope"),
    "beijing_time": ("北京时间", "Beijing time"),
    # common
    "search": ("查询", "Search"),
    "reset": ("清除", "Clear"),
    "page": ("页", "page"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "total": ("共", "Total"),
    "none": ("无", "None"),
    "back": ("返回", "Back"),
    "details": ("详情", "Details"),
    "status": ("状态", "Status"),
    "name": ("名称", "Name"),
    "code": ("编号", "Code"),
    "org": ("供电单位", "Organisation"),
    "day": ("日期", "Day"),
    "time": ("时间", "Time"),
    "unit_points": ("点", "points"),
    "unit_terminals": ("台", "terminals"),
    "unit_customers": ("户", "customers"),
    # home
    "dashboard": ("运行总览", "Overview"),
    "collection_today": ("今日采集成功率", "Collection success today"),
    "collectable_today": ("可采成功率", "Success of collectable points"),
    "collectable_hint": ("不含终端离线", "excluding offline terminals"),
    "terminal_online": ("终端在线率", "Terminals online"),
    "collection_trend": ("近 30 日采集成功率", "Collection success, last 30 days"),
    "failure_reasons": ("今日未采原因", "Why points were not collected today"),
    "reason": ("原因", "Reason"),
    "count": ("数量", "Count"),
    "not_computable": ("不可计算", "not computable"),
    "line_loss_dist": ("台区线损率分布", "Line-loss rate of transformer areas"),
    "no_line_loss": ("暂无线损数据", "No line-loss data yet"),
    "no_line_loss_hint": (
        "每日线损计算 (gridcare lineloss compute) 完成后在此显示。",
        "Appears once the daily line-loss calculation (gridcare lineloss compute) has run.",
    ),
    "arrears": ("欠费", "Arrears"),
    "no_arrears": ("暂无欠费数据", "No arrears data yet"),
    "no_arrears_hint": (
        "电费核算与收费上线并发行账单后，在此显示欠费户数与金额。",
        "Shows customers in arrears and amounts once billing is live and bills are released.",
    ),
    "open_alerts": ("未确认预警", "Open alerts"),
    "latest_alerts": ("最新预警", "Latest alerts"),
    "all_alerts": ("全部预警", "All alerts"),
    "no_open_alerts": ("没有未确认的预警", "No open alerts"),
    "alerts_not_yours": (
        "风险预警由安全管理员和审计管理员处理。",
        "Alerts are handled by the security and audit administrators.",
    ),
    "archives": ("档案", "Archives"),
    "meters": ("电能表", "Meters"),
    "no_archives": (
        "尚无档案数据。运行 gridcare demo init 生成示例供电公司，或导入档案。",
        "No archives yet: run gridcare demo init or import archives.",
    ),
    "no_collection": (
        "今日尚无采集任务结果；采集主站抄读日冻结数据后显示。",
        "No collection results today yet; they appear once the master station reads the daily freeze.",
    ),
    # areas
    "area_list": ("台区列表", "Transformer areas"),
    "area_search": ("台区编号或名称", "Area code or name"),
    "capacity": ("容量", "Capacity"),
    "customer_count": ("户数", "Customers"),
    "feeder": ("线路", "Feeder"),
    "address": ("地址", "Address"),
    "supply_meter": ("考核总表", "Supply meter"),
    "line_loss": ("线损", "Line loss"),
    "loss_rate": ("线损率", "Loss rate"),
    "supply_kwh": ("供电量", "Supply"),
    "sold_kwh": ("售电量", "Sold"),
    "loss_kwh": ("损失电量", "Loss"),
    "line_loss_of": ("线损", "Line loss"),
    "line_loss_drill": ("线损明细", "Line-loss details"),
    "no_area_line_loss": (
        "该台区暂无线损结果；每日线损计算完成后显示。",
        "No line loss for this area yet; it appears after the daily line-loss calculation.",
    ),
    "area_customers": ("台区客户", "Customers of the area"),
    "no_areas": ("没有符合条件的台区。", "No transformer area matches."),
    "area_kind": ("类型", "Type"),
    "not_applicable": ("不适用", "Not applicable"),
    "area_loss_not_applicable": (
        "专变不适用台区线损",
        "Transformer-area line loss does not apply to a dedicated transformer",
    ),
    "area_loss_not_applicable_hint": (
        "专变为客户自有变压器，无台区总表；其损耗为向该客户计收的变损，线路购售电量中按售电量计。",
        "A dedicated transformer belongs to one customer and has no supply meter: its losses are the "
        "transformer loss billed to that customer, and the feeder's sold vs purchased counts its energy "
        "as sold.",
    ),
    # customers
    "customer_list": ("客户列表", "Customers"),
    "customer_search": ("户号、户名或表地址", "Customer no., name or meter address"),
    "customer_no": ("户号", "Customer no."),
    "customer_name": ("户名", "Name"),
    "customer_class": ("用电类别", "Class"),
    "voltage": ("电压", "Voltage"),
    "contracted": ("合同容量", "Contracted capacity"),
    "tariff": ("电价", "Tariff"),
    "billing_group": ("抄表段", "Billing group"),
    "opened_on": ("立户日期", "Opened on"),
    "id_number": ("证件号码", "ID number"),
    "phone": ("联系电话", "Phone"),
    "masked_note": (
        "个人信息已脱敏；查看完整信息需授权并留痕审计。",
        "Personal data is masked; full values need a permission and every view is audited.",
    ),
    "no_customers": ("没有符合条件的客户。", "No customer matches."),
    "customer_360": ("客户视图", "Customer 360"),
    "meter_address": ("表地址", "Meter address"),
    "meter_type": ("表型", "Meter type"),
    "multiplier": ("倍率", "Multiplier"),
    "metering_point": ("计量点", "Metering point"),
    "terminal": ("终端", "Terminal"),
    "since": ("启用", "Since"),
    "on_demand_read": ("召测", "Read now"),
    "read_result": ("召测结果", "Reading"),
    "daily_energy": ("日用电量", "Daily consumption"),
    "daily_energy_hint": (
        "相邻两日正向有功总冻结示值之差 × 倍率",
        "Difference of consecutive daily frozen forward-active totals × multiplier",
    ),
    "energy_total": ("合计", "Total"),
    "energy_avg": ("日均", "Daily average"),
    "no_energy": (
        "近 30 日没有日冻结示值；采集主站抄读后显示。",
        "No daily frozen readings in the last 30 days; they appear once collected.",
    ),
    "bills": ("账单与缴费", "Bills and payments"),
    "no_bills": ("暂无账单", "No bills yet"),
    "no_bills_hint": (
        "电费核算上线后，在此显示该户的账单、缴费与欠费。",
        "The customer's bills, payments and arrears appear here once billing is live.",
    ),
    "terminal_events": ("终端事件", "Terminal events"),
    "no_events": ("暂无终端事件；终端上报事件后显示。", "No terminal events reported yet."),
    "event": ("事件", "Event"),
    "erc": ("ERC", "ERC"),
    # customer 360: archive, consumption, money
    "archive": ("客户档案", "Archive"),
    "masked": ("已脱敏", "masked"),
    "until": ("截至", "until"),
    "energy_last_30": ("近 30 日", "last 30 days"),
    "energy_30d": ("近 30 日用电量", "Consumption, last 30 days"),
    "daily_energy_hint_short": ("按日冻结示值计算", "from daily frozen registers"),
    "no_meters": ("暂无电能表。", "No meters."),
    "yuan": ("元", "yuan"),
    "amount": ("金额", "Amount"),
    "bill_list": ("账单", "Bills"),
    "bill_no": ("账单号", "Bill no."),
    "bill_kind": ("类型", "Kind"),
    "period": ("电费年月", "Period"),
    "due_date": ("缴费截止日", "Due date"),
    "estimated": ("估抄", "estimated"),
    "payments": ("缴费记录", "Payments"),
    "paid_on": ("缴费日期", "Paid on"),
    "no_payments": ("暂无缴费记录。", "No payments yet."),
    "open_debts": ("未结清欠费", "Open debts"),
    "debt_kind": ("欠费项", "Item"),
    "remaining": ("未缴", "Open"),
    "on_account": ("预收余额", "On account"),
    "accrued_penalty": ("应计违约金", "Accrued penalty"),
    "open_receivables": ("应收未收电费", "Open receivables"),
    "open_debt_count": ("笔未结清", "open debts"),
    "no_arrears_now": ("当前无欠费", "No arrears"),
    # on-demand read
    "reading": ("召测中…", "Reading…"),
    "read_done": ("召测成功", "Read"),
    "read_failed": ("召测失败", "Read failed"),
    "on_demand_read_hint": (
        "召测：经终端即时抄读电能表当前示值",
        "Read now: reads the meter's current registers through the terminal",
    ),
    "unit_meters": ("块", "meters"),
    "malformed_frames": ("异常报文", "Malformed frames"),
    # charts
    "collection_rate": ("采集成功率", "Success rate"),
    "no_trend": (
        "近 30 日没有采集结果；采集主站抄读日冻结数据后显示。",
        "No collection results in the last 30 days; they appear once the master station reads daily freezes.",
    ),
    "area_count": ("台区数", "Areas"),
    "no_data": ("暂无数据", "No data"),
    "chart_failed": ("图表数据加载失败", "Chart data could not be loaded"),
    # alerts and audit results
    "ack_done": ("已确认预警", "Acknowledged alert"),
    "ack_already": ("预警已被确认过", "Alert was already acknowledged"),
    "checked_records": ("已校验记录", "records checked"),
    "head": ("链头", "head"),
    "first_bad": ("首个异常记录", "First bad record"),
    # terminals
    "terminal_list": ("采集终端", "Terminals"),
    "terminal_search": ("终端地址 (如 3301-00001)", "Terminal address (e.g. 3301-00001)"),
    "terminal_address": ("终端地址", "Address"),
    "terminal_type": ("类型", "Type"),
    "channel": ("通道", "Channel"),
    "manufacturer": ("厂家", "Manufacturer"),
    "online": ("在线", "Online"),
    "offline": ("离线", "Offline"),
    "all": ("全部", "All"),
    "last_heartbeat": ("最后心跳", "Last heartbeat"),
    "connected_since": ("连接时间", "Connected since"),
    "remote_address": ("远程地址", "Remote address"),
    "no_terminals": ("没有符合条件的终端。", "No terminal matches."),
    "never_connected": ("从未连接", "never connected"),
    "terminal_meters": ("下挂电能表", "Meters read through this terminal"),
    "recent_jobs": ("最近召测与命令", "Recent reads and commands"),
    "no_jobs": ("暂无召测或命令。", "No reads or commands yet."),
    "job": ("任务", "Job"),
    "job_kind": ("类型", "Kind"),
    "requested_by": ("发起人", "Requested by"),
    "result": ("结果", "Result"),
    # alerts
    "alert_list": ("风险预警", "Alerts"),
    "severity": ("级别", "Severity"),
    "rule": ("规则", "Rule"),
    "subject": ("对象", "Subject"),
    "message": ("说明", "Message"),
    "first_seen": ("首次", "First seen"),
    "last_seen": ("最近", "Last seen"),
    "acknowledge": ("确认", "Acknowledge"),
    "ack_note": ("处理说明", "Note"),
    "acknowledged": ("已确认", "Acknowledged"),
    "open": ("未确认", "Open"),
    "no_alerts": ("没有预警。", "No alerts."),
    # accounts
    "user_list": ("账号管理", "Accounts"),
    "username": ("账号", "Username"),
    "display_name": ("姓名", "Name"),
    "roles": ("角色", "Roles"),
    "two_factor": ("双因素", "Two factors"),
    "last_login": ("最近登录", "Last login"),
    "enabled": ("正常", "Enabled"),
    "disabled": ("已停用", "Disabled"),
    "locked": ("已锁定", "Locked"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "unlock": ("解锁", "Unlock"),
    "user_done": ("已保存", "Saved"),
    "no_users": ("范围内没有账号。", "No account in scope."),
    "users_hint": (
        "新建账号、重置密码和双因素请用 gridcare admin 命令或 /api/v1/users（一次性密码只显示一次）。",
        "Create accounts and reset passwords or two factors with gridcare admin or /api/v1/users "
        "(one-time passwords are shown once).",
    ),
    # audit
    "audit_list": ("审计日志", "Audit trail"),
    "seq": ("序号", "Seq."),
    "actor": ("操作人", "Actor"),
    "action": ("操作", "Action"),
    "object": ("对象", "Object"),
    "source": ("来源", "Source"),
    "verify_chain": ("校验哈希链", "Verify hash chain"),
    "chain_ok": ("哈希链完整", "Hash chain intact"),
    "chain_bad": ("哈希链异常", "Hash chain broken"),
    "no_audit": ("没有符合条件的审计记录。", "No audit record matches."),
    "action_prefix": ("操作前缀 (如 auth.)", "Action prefix (e.g. auth.)"),
    # errors
    "forbidden": ("无权访问此页面", "You have no permission for this page"),
    "forbidden_customer_hint": (
        "此页面供供电公司员工使用；您的用电、账单和缴费请在网上营业厅查看。",
        "This page is for the supply company's staff; "
        "your usage, bills and payments are in your self-service pages.",
    ),
    "forbidden_hint": (
        "如需访问，请联系系统管理员分配角色。",
        "Ask your system administrator for a role that grants it.",
    ),
    "bad_request": ("请求参数有误", "Bad request"),
    "bad_request_hint": ("请检查地址中的参数。", "Check the parameters in the address."),
    "not_found": ("未找到", "Not found"),
    "not_found_hint": (
        "对象不存在，或不在您的管辖范围内。",
        "It does not exist or is outside your organisation scope.",
    ),
}

ENUM_LABELS: dict[str, tuple[str, str]] = {
    # customer classes
    "residential": ("居民生活", "Residential"),
    "general_commercial": ("一般工商业", "General commercial"),
    "large_industrial": ("大工业", "Large industrial"),
    "agricultural": ("农业生产", "Agricultural"),
    # customer / meter status
    "active": ("正常", "Active"),
    "suspended": ("暂停", "Suspended"),
    "closed": ("销户", "Closed"),
    "stock": ("库存", "In stock"),
    "installed": ("运行", "Installed"),
    "removed": ("拆回", "Removed"),
    "scrapped": ("报废", "Scrapped"),
    # meter and terminal types
    "single_phase": ("单相", "Single-phase"),
    "three_phase_direct": ("三相直接", "Three-phase direct"),
    "three_phase_ct": ("三相互感器", "Three-phase CT"),
    "concentrator": ("集中器", "Concentrator"),
    "large_customer": ("专变终端", "Large-customer terminal"),
    "gprs": ("GPRS", "GPRS"),
    "4g": ("4G", "4G"),
    "ethernet": ("以太网", "Ethernet"),
    "plc": ("载波", "PLC"),
    "billing": ("计费", "Billing"),
    "supply": ("台区总表", "Supply"),
    # 台区 kinds
    "public": ("公变", "Public"),
    "dedicated": ("专变", "Dedicated"),
    # collection failure reasons
    "terminal_offline": ("终端离线", "Terminal offline"),
    "no_reply": ("终端无应答", "No reply"),
    "abnormal_reply": ("异常应答", "Abnormal reply"),
    "invalid_data": ("数据无效", "Invalid data"),
    "not_attempted": ("未抄读", "Not attempted"),
    # jobs
    "on_demand_read": ("召测", "On-demand read"),
    "clock_read": ("读时钟", "Clock read"),
    "clock_sync": ("对时", "Clock sync"),
    "remote_trip": ("远程跳闸", "Remote trip"),
    "remote_close": ("允许合闸", "Allow close"),
    "pending": ("排队中", "Queued"),
    "sent": ("已下发", "Sent"),
    "confirmed": ("成功", "Done"),
    "failed": ("失败", "Failed"),
    "timed_out": ("超时", "Timed out"),
    # alerts
    "low": ("低", "Low"),
    "medium": ("中", "Medium"),
    "high": ("高", "High"),
    "login_failures": ("登录失败过多", "Repeated login failures"),
    "night_new_address": ("夜间新地址登录", "Night login from a new address"),
    "personal_data_bulk": ("批量查看个人信息", "Bulk views of personal data"),
    "remote_control_burst": ("远程控制过频", "Burst of remote-control commands"),
    "malformed_frames": ("终端异常报文", "Malformed frames from a terminal"),
    # bills and the ledger
    "draft": ("草稿", "Draft"),
    "review": ("待审核", "In review"),
    "released": ("已发行", "Released"),
    "void": ("作废", "Void"),
    "bill": ("电费账单", "Bill"),
    "credit_note": ("红字冲正", "Credit note"),
    "principal": ("电费", "Principal"),
    "penalty": ("违约金", "Penalty"),
    "counter": ("柜台", "Counter"),
    "bank": ("银行代收", "Bank"),
    "mobile": ("掌上电力", "Mobile app"),
    "third_party": ("第三方代收", "Third party"),
    # audit results
    "success": ("成功", "Success"),
    "failure": ("失败", "Failure"),
    "denied": ("拒绝", "Denied"),
}


def lang_of(request: Request) -> str:
    """``?lang=`` first, then the ``lang`` cookie, then Chinese."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return DEFAULT_LANG


def label(key: str, lang: str, table: Mapping[str, tuple[str, str]] = LABELS) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def enum_label(value: object, lang: str) -> str:
    """The label of an enum value ("residential" -> "居民生活"); unknown values show as they are."""
    key = getattr(value, "value", value)
    return label(str(key), lang, ENUM_LABELS) if key is not None else ""
