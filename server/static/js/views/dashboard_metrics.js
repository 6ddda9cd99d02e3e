// The funnel metrics the dashboard shows, with their labels (names as in the snapshots).

export const LABELS = {
  hook_avg_ctr: "Hook CTR",
  gift_opt_in_rate: "Gift opt-in rate",
  gift_cpl: "Cost per lead",
  attract_leads_total: "Leads",
  engage_assisted_conversion_rate: "Assisted conversion",
  sell_conversion_rate: "Sell conversion",
  sell_aov_initial: "AOV before upsell",
  nurture_email_conv_rate: "Nurture email conversion",
  nurture_retargeting_roas: "Retargeting ROAS",
  convert_total_sales: "Sales",
  convert_cpa: "Cost per acquisition",
  upsell_take_rate: "Upsell take rate",
  upsell_aov_final: "AOV after upsell",
  educate_repeat_purchase_rate: "Repeat purchase rate",
  educate_csat_nps: "CSAT/NPS",
  share_review_rate: "Review rate",
  grow_cltv_estimate: "CLTV",
  overall_roi: "ROI",
  aov_uplift: "AOV uplift",
  ltv_to_cac: "LTV:CAC",
  lead_to_sale: "Lead-to-sale",
};

export const RATES = new Set([
  "hook_avg_ctr",
  "gift_opt_in_rate",
  "engage_assisted_conversion_rate",
  "sell_conversion_rate",
  "nurture_email_conv_rate",
  "upsell_take_rate",
  "educate_repeat_purchase_rate",
  "share_review_rate",
  "aov_uplift",
  "lead_to_sale",
]);

// Lower is better for these: a fall is good news.
export const COSTS = new Set(["gift_cpl", "convert_cpa"]);
export const PHASE_TITLES = { attract: "Attract", convert: "Convert", grow: "Grow", overall: "Overall", derived: "Derived" };
