"""The report's name for what a question asks in everyday words.

A reader asks 「发了多少个包裹」, the report states 「快递业务量130.6亿件」; 「上学的名额」 is 「新增学位」,
「新开的公司和个体店铺」 are 「新增市场主体」. The small embedder and the small model know neither
pairing, so the passage that answers ranks low and the sentence that answers is never judged.

:data:`EVERYDAY` pairs everyday wordings with the names government work reports give the
statistical indicators they mean — general statistical vocabulary (the statistics bureau's and the
ministries' indicator names), not any one report's wording. Two strengths:

- a **name** (``sure``): the wording means that indicator and no other (「坐飞机进出的人次」 is
  「机场旅客吞吐量」); its alternatives are the ways reports write it. A sentence stating a figure of
  it answers the question as surely as one in the question's own words (rag/answering/quote.py).
- a **hint**: the wording points to a family of indicators (「看病」: hospitals, beds, doctors) —
  only retrieval and the judge's choice of candidate sentences look for them.

:func:`report_terms` gives every name and hint a question implies and does not say already (for
retrieval), :func:`named_metrics` the indicator names its sure wordings make up together
(「城里人…到手多少钱」: 城镇居民 + 人均可支配收入).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class Everyday:
    """An everyday wording (a regular expression over the question) and the report's names for it."""

    wording: str
    names: tuple[str, ...]
    sure: bool = True


def _name(wording: str, *names: str) -> Everyday:
    return Everyday(wording, names)


def _hint(wording: str, *names: str) -> Everyday:
    return Everyday(wording, names, sure=False)


#: In this order (the order in which names that go together are joined: who, then what).
EVERYDAY: tuple[Everyday, ...] = (
    # post, transport, travel
    _name(r"包裹|快件|快递(?!业务)|寄了多少|收寄", "快递业务量"),
    _name(r"坐飞机|乘飞机|飞机.{0,6}(?:人次|旅客|乘客)|机场.{0,8}(?:进出|来往|多少人)", "机场旅客吞吐量", "旅客吞吐量"),
    _name(r"(?:装卸|运了|进出|运输).{0,6}集装箱|集装箱.{0,4}(?:装卸|运了|进出)", "集装箱吞吐量"),
    _name(r"港口(?!.*集装箱).{0,8}(?:装卸|运了|进出|货)|码头(?!.*集装箱).{0,6}(?:装卸|货)", "港口货物吞吐量", "货物吞吐量"),
    _name(r"来.{0,6}(?:旅游|玩|游玩|观光)(?!.{0,6}(?:赚|挣|花|钱))|旅游的人|旅游.{0,4}(?:多少人|人次)", "接待游客", "游客"),
    _name(r"旅游.{0,6}(?:赚|挣|花了|多少钱)", "旅游总收入", "旅游收入"),
    _hint(r"高铁|火车|动车", "铁路客运量"),
    _hint(r"地铁|轻轨", "城市轨道交通"),
    _hint(r"电动车|电动汽车|新能源车(?!辆)", "新能源汽车"),
    _hint(r"充电的地方|充电站", "充电桩", "充电设施"),
    _hint(r"停车的地方|停车位|车位", "停车泊位"),
    _name(r"多少辆车|汽车.{0,4}多少辆|车.{0,4}保有", "机动车保有量", "汽车保有量"),
    # trade, business, investment
    _name(
        r"(?:进口|买进).{0,4}(?:加|和|与|跟).{0,4}(?:出口|卖出)|出口.{0,4}(?:加|和|与|跟).{0,4}进口|"
        r"(?:跟|和|与)(?:国外|外国|海外).{0,6}(?:做|的)?(?:买卖|生意|贸易)",
        "进出口总额",
        "进出口",
    ),
    _name(r"(?:卖|销)(?:到|往)?(?:国外|外国|海外)", "出口额", "出口"),
    _name(
        r"(?:外国|境外|国外|海外)(?:的)?(?:企业|公司|老板|商人|客商)?(?:的)?(?:资金|投资|投了|的钱)|外国人.{0,8}投资",
        "实际使用外资",
        "利用外资",
    ),
    _name(r"(?:长期|常年|常)住.{0,10}(?:外国人|老外|外商)", "常驻外商"),
    _hint(r"外国人|老外", "常驻外商", "境外人员"),
    _name(
        r"(?:新开|新办|新注册|新成立|新设|开了).{0,6}(?:公司|企业|店|商户|个体|买卖|生意)|个体户|个体(?:工商户|店铺)|"
        r"(?:公司|企业|店|商户).{0,6}(?:新开|新办|新注册|新成立)",
        "新增市场主体",
        "新增经营主体",
        "市场主体",
        "经营主体",
    ),
    _name(r"(?:开|注册|办).{0,4}(?:公司|企业).{0,6}(?:多久|多长时间|几天|要多少时间)", "企业开办时间", "企业开办"),
    _name(r"(?:帮|为|给)(?:企业|公司|老板).{0,8}(?:省|减|降|少交)|减.{0,2}负担", "减税降费", "减负降本"),
    _name(r"买东西|逛街|购物|(?:商场|超市|饭店|餐馆|商店|店里).{0,12}(?:花了|消费|卖了|买了)", "社会消费品零售总额"),
    _name(r"网购|网上(?:买|卖|销售|购物)|网店", "网络零售额"),
    _name(r"物价|东西.{0,4}(?:涨|贵)|涨价", "居民消费价格"),
    _hint(r"(?:盖|建).{0,4}(?:楼|厂|项目).{0,6}(?:花|投)", "固定资产投资"),
    _hint(r"(?:工厂|厂子).{0,8}(?:多少|增长|产值|增加|生产)", "规模以上工业增加值", "工业总产值"),
    # what mines, power plants and mills turn out
    _name(r"(?:挖|采|产|出)(?:出|了)?(?:了)?多少(?:万吨|吨)?(?:的)?煤", "原煤产量"),
    _name(r"发了多少电|发电发了", "发电量"),
    _name(r"(?:炼|产)(?:出|了)?(?:了)?多少(?:万吨|吨)?(?:的)?钢", "粗钢产量", "钢产量"),
    _name(r"高科技(?:企业|公司)", "高新技术企业"),
    _hint(r"搞科研|科研.{0,4}花|研发.{0,4}花", "研发投入", "研究与试验发展经费"),
    # the economy and public money
    _name(r"经济.{0,4}(?:多大|规模|盘子|体量)|一共创造.{0,6}(?:价值|财富)", "地区生产总值"),
    _name(r"(?:政府|财政).{0,6}(?:收了|收上来|收到|收进|进账|进了|赚|挣|有多少钱)", "一般公共预算收入"),
    _name(r"收了.{0,2}(?:多少)?税|税.{0,2}收了", "税收收入"),
    _name(r"(?:政府|财政).{0,6}(?:花了|花掉|开支)(?!.{0,8}(?:老百姓|民生|群众))", "一般公共预算支出"),
    _name(r"花在(?:老百姓|民生|群众)|用在(?:老百姓|民生|群众)", "民生支出"),
    # people, work and incomes: whose (town, country), then the figure
    _name(r"城里人|城里(?:的)?(?:居民|老百姓)|城市(?:里)?(?:的)?(?:居民|老百姓)", "城镇居民"),
    _name(r"农村人|农民(?!工)|乡下人|农村(?:的)?(?:老百姓|群众)|村民", "农村居民"),
    _name(
        r"(?:到手|拿到手|能挣|能赚|挣了|赚了|挣多少|赚多少).{0,6}(?:钱|多少)|(?:一年|每年|平均).{0,6}(?:挣|赚|到手)|人均收入",
        "人均可支配收入",
    ),
    _name(r"(?:找到|有了|安排).{0,4}(?:工作|饭碗|岗位)|上岗", "城镇新增就业", "新增就业"),
    _name(r"没(?:有)?工作|找不到工作", "失业率"),
    _name(r"住着多少人|多少人口|人口(?:有)?多少", "常住人口"),
    _name(r"住在城(?:里|镇).{0,6}(?:比例|比重|占)|城(?:里|镇)人.{0,4}(?:比例|比重|占)", "常住人口城镇化率", "城镇化率"),
    _hint(r"(?:招|留住|来了).{0,6}(?:大学生|毕业生|年轻人)", "引进人才", "高校毕业生"),
    _hint(r"工资.{0,4}(?:拖欠|欠)|欠.{0,2}工资|讨薪", "欠薪", "农民工工资"),
    # schools, health, care
    _name(r"上学|入学|读书|(?:孩子|学生).{0,6}(?:名额|位置|座位)", "新增学位", "学位"),
    _hint(r"托儿|带娃|看孩子", "托位", "普惠性幼儿园"),
    _hint(r"看病|医院|病床", "医疗卫生机构", "床位"),
    _hint(r"医生|大夫", "执业（助理）医师"),
    _hint(r"老人|老年人", "养老服务", "养老床位", "老年助餐"),
    _hint(r"(?:看病|医疗|养老).{0,4}保险|医保|社保", "基本医疗保险", "基本养老保险", "参保率"),
    _hint(r"事故.{0,6}(?:死|伤|丧生|遇难)", "生产安全事故", "死亡人数"),
    _hint(r"冠军|拿.{0,2}金", "金牌"),
    # housing and towns
    _name(r"老(?:旧)?小区|旧小区|破旧(?:的)?小区", "老旧小区改造", "老旧小区"),
    _hint(r"棚户|棚改|危房", "棚户区改造", "农村危房改造"),
    _hint(r"(?:便宜|租得起|困难家庭|低收入).{0,4}(?:房|住房|房子)|廉租", "保障性住房", "保障性租赁住房", "公租房"),
    _name(r"(?:小|街边|家门口|身边的)公园", "口袋公园"),
    _hint(r"喝水|吃水|饮水", "农村供水", "自来水普及率"),
    _hint(r"脏水|下水道", "污水处理", "污水管网"),
    _hint(r"修了?.{0,4}路", "公路", "农村公路"),
    # environment and land
    _name(r"空气.{0,2}(?:好|干净|不错)|好天气|蓝天|晴天", "空气质量优良天数比例", "优良天数比例", "优良天数"),
    _hint(r"雾霾", "PM2.5平均浓度", "细颗粒物"),
    _hint(r"(?:河|水)(?:的|里)?.{0,4}(?:干净|清)", "地表水", "国考断面", "水质优良比例"),
    _hint(r"种树|种了多少树", "植树造林", "森林覆盖率"),
    _name(r"打(?:了)?多少粮|收(?:了)?多少粮|产粮|种粮|粮食收成", "粮食产量", "粮食总产量"),
    _name(r"用了多少电|用掉.{0,4}电|用电.{0,4}多少", "全社会用电量"),
)

_COMPILED = tuple((re.compile(entry.wording, re.IGNORECASE), entry) for entry in EVERYDAY)
#: More names than this made up of several sure wordings are not tried (each is one more check).
_MAX_NAMED = 12


def _matched(question: str) -> list[Everyday]:
    return [entry for pattern, entry in _COMPILED if pattern.search(question)]


def report_terms(question: str) -> list[str]:
    """Every name and hint the question's everyday words imply and it does not say already, in table
    order without repeats."""
    found: list[str] = []
    for entry in _matched(question):
        found.extend(name for name in entry.names if name not in question and name not in found)
    return found


def with_report_terms(question: str) -> str:
    """The question followed by the report terms its everyday words imply (unchanged when none)."""
    terms = report_terms(question)
    return f"{question}（{' '.join(terms)}）" if terms else question


def named_metrics(question: str) -> list[str]:
    """The indicator names the question's sure everyday wordings make up together, one alternative
    of each in table order (「城里人…到手多少钱」 → 「城镇居民人均可支配收入」); none when it has none."""
    sure = [entry.names for entry in _matched(question) if entry.sure]
    if not sure:
        return []
    return ["".join(parts) for parts in product(*sure)][:_MAX_NAMED]
