"""Words the generated registers are made of: company names (字号 and trades), people's names
and mobile prefixes. Shared by the demo (``demo_register``) and the benchmark generator
(``bench/generate.py``), so both look like the same province."""

BRAND_FIRST = "恒华鑫瑞金永宏天嘉博德汇新联远安富明星和"

BRAND_SECOND = "达信源丰诚盛图成禾润通锐创航泰美辉祥瀚昌"

TRADES = [
    "科技",
    "商贸",
    "建材",
    "餐饮管理",
    "物流",
    "服装",
    "电子",
    "医药",
    "农业开发",
    "印务",
    "五金",
    "文化传媒",
    "贸易",
    "机械",
    "装饰工程",
    "家具",
    "纺织",
    "食品",
    "化工",
    "汽车服务",
    "广告",
    "企业管理咨询",
    "网络科技",
    "信息技术",
    "建筑工程",
    "环保科技",
    "教育咨询",
    "酒店管理",
    "物业管理",
    "进出口",
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林郑谢罗梁宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"

GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "华",
    "建国",
    "文",
    "斌",
    "婷",
    "雪",
    "晨",
    "宇",
    "浩然",
    "欣怡",
    "佳",
    "俊",
    "丹",
    "蕾",
    "志强",
    "海燕",
]

MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
]

# A wider set of 字号 characters, for registers of a province's size: two of them make about
# 40,000 different 字号, so a name fragment finds about as many taxpayers in 1,000,000 as a
# real register's would (drawn from the 40 characters of BRAND_FIRST and BRAND_SECOND, each
# 字号 and trade would repeat some twenty times in a million).
BRAND_CHARS_WIDE = "".join(
    dict.fromkeys(
        "安百邦宝北贝博彩灿昌超晨诚驰崇楚创春纯达大丹道德迪鼎东都多恩尔方飞丰峰福富港高格"
        "冠光广贵国海瀚浩禾合和弘红宏鸿华环辉汇惠吉佳嘉建江杰捷金锦晶京精景久聚骏凯康科可"
        "坤蓝朗乐雷力立丽利联良林凌龙隆路伦罗茂美萌民名明铭南宁诺欧鹏品平普奇启千谦强乔勤"
        "青清庆秋全仁荣锐瑞润森尚胜圣盛世仕首舒顺思松泰腾天通同拓万旺威伟维文稳沃祥翔欣新"
        "鑫信星兴雄旭轩雅亚扬阳耀业一亿益逸银英盈永优友宇雨玉元源远跃云运泽展长兆哲振正志"
        "智中众卓梓紫"
    )
)
