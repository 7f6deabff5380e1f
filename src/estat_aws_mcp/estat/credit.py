"""The e-Stat credit notice, required wherever e-Stat data is shown (e-Stat API terms of use)."""

CREDIT_NOTICE = (
    "このサービスは、政府統計総合窓口(e-Stat)のAPI機能を使用していますが、"
    "サービスの内容は国によって保証されたものではありません。"
)
