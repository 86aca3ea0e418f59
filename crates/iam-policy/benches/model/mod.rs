//! The benchmark's authorization model, written once and rendered both as IAM policy JSON
//! and as Cedar policy text, so the two engines decide the same thing.
//!
//! The realistic principal is trader `alice` of the prod account (see `shared/SCENARIO.md`):
//! member of 3 groups, 10 attached policies, 50 statements mixing exact and wildcard actions
//! and resources, one explicit deny, and string (ABAC tag), IP range and date conditions.
#![allow(dead_code)]

use std::fmt::Write as _;

pub const ACCOUNT: &str = "111111111111";
pub const REGION: &str = "eu-west-1";
pub const VENUES: [&str; 5] = ["binance", "okx", "bybit", "deribit", "kraken"];

/// A condition both engines can express.
#[derive(Debug, Clone, Copy)]
pub enum Cond {
    /// `aws:ResourceTag/desk` equals `${aws:PrincipalTag/desk}`.
    SameDesk,
    /// `aws:SourceIp` in 10.20.0.0/16.
    TradingSubnet,
    /// `aws:CurrentTime` before 2026-12-01T00:00:00Z (epoch 1796083200).
    BeforeDecember,
    /// `aws:MultiFactorAuthPresent` is true.
    Mfa,
}

/// One statement of the model.
#[derive(Debug, Clone)]
pub struct Rule {
    pub deny: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub conds: Vec<Cond>,
}

/// A policy: a name, the group it is attached to (or `None` for the user), and its rules.
#[derive(Debug, Clone)]
pub struct ModelPolicy {
    pub name: String,
    pub group: Option<&'static str>,
    pub rules: Vec<Rule>,
}

fn rule(deny: bool, actions: &[&str], resources: &[String], conds: &[Cond]) -> Rule {
    Rule {
        deny,
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        resources: resources.to_vec(),
        conds: conds.to_vec(),
    }
}

fn instrument(venue: &str, symbol: &str) -> String {
    format!("arn:aws:trading:{REGION}:{ACCOUNT}:venue/{venue}/instrument/{symbol}")
}

/// The 10 policies (50 statements) in force for `alice`.
pub fn realistic() -> Vec<ModelPolicy> {
    let mut policies = Vec::new();
    // traders: 4 policies, one per concern, 5 venues each.
    let trade = VENUES
        .iter()
        .map(|v| {
            rule(
                false,
                &[
                    "trading:PlaceOrder",
                    "trading:CancelOrder",
                    "trading:AmendOrder",
                ],
                &[instrument(v, "*")],
                &[Cond::SameDesk, Cond::TradingSubnet],
            )
        })
        .collect();
    policies.push(ModelPolicy {
        name: "TradersOrders".into(),
        group: Some("traders"),
        rules: trade,
    });
    let positions = VENUES
        .iter()
        .map(|v| rule(false, &["trading:Get*"], &[instrument(v, "*")], &[]))
        .collect();
    policies.push(ModelPolicy {
        name: "TradersPositions".into(),
        group: Some("traders"),
        rules: positions,
    });
    let close = VENUES
        .iter()
        .map(|v| {
            rule(
                false,
                &["trading:ClosePosition"],
                &[instrument(v, "*-PERP")],
                &[Cond::Mfa],
            )
        })
        .collect();
    policies.push(ModelPolicy {
        name: "TradersClose".into(),
        group: Some("traders"),
        rules: close,
    });
    let mut guard = vec![rule(
        true,
        &["trading:*"],
        &[format!("arn:aws:trading:{REGION}:{ACCOUNT}:venue/ftx/*")],
        &[],
    )];
    guard.extend(VENUES.iter().take(4).map(|v| {
        rule(
            false,
            &["trading:GetPosition"],
            &[instrument(v, "BTC-PERP"), instrument(v, "ETH-PERP")],
            &[Cond::BeforeDecember],
        )
    }));
    policies.push(ModelPolicy {
        name: "TradersGuardrails".into(),
        group: Some("traders"),
        rules: guard,
    });
    // risk-readers: 3 policies.
    for (i, book) in ["delta", "gamma", "vega"].iter().enumerate() {
        let rules = (0..5)
            .map(|j| {
                let res = format!("arn:aws:risk:{REGION}:{ACCOUNT}:book/{book}-{j}");
                if j % 2 == 0 {
                    rule(false, &["risk:GetLimits"], &[res], &[])
                } else {
                    rule(
                        false,
                        &["risk:Get*", "risk:Describe*"],
                        &[res],
                        &[Cond::Mfa],
                    )
                }
            })
            .collect();
        policies.push(ModelPolicy {
            name: format!("RiskRead{i}"),
            group: Some("risk-readers"),
            rules,
        });
    }
    // data-readers: 2 policies.
    let feeds = VENUES
        .iter()
        .map(|v| {
            rule(
                false,
                &["marketdata:Subscribe", "marketdata:GetSnapshot"],
                &[format!("arn:aws:marketdata:{REGION}:{ACCOUNT}:feed/{v}/*")],
                &[],
            )
        })
        .collect();
    policies.push(ModelPolicy {
        name: "MarketData".into(),
        group: Some("data-readers"),
        rules: feeds,
    });
    let lake = (0..5)
        .map(|j| {
            rule(
                false,
                &["s3:GetObject", "s3:ListBucket"],
                &[format!("arn:aws:s3:::firm-tick-data/{}/*", 2022 + j)],
                &[Cond::TradingSubnet],
            )
        })
        .collect();
    policies.push(ModelPolicy {
        name: "TickData".into(),
        group: Some("data-readers"),
        rules: lake,
    });
    // alice's own policy.
    let own = vec![
        rule(
            false,
            &["s3:GetObject", "s3:PutObject"],
            &["arn:aws:s3:::firm-strategies/alice/*".to_owned()],
            &[],
        ),
        rule(
            false,
            &["marketdata:*"],
            &[format!(
                "arn:aws:marketdata:{REGION}:{ACCOUNT}:feed/binance/trades"
            )],
            &[],
        ),
        rule(
            false,
            &["trading:GetPosition"],
            &["*".to_owned()],
            &[Cond::TradingSubnet],
        ),
        rule(
            false,
            &["risk:GetLimits"],
            &[format!("arn:aws:risk:{REGION}:{ACCOUNT}:book/*")],
            &[Cond::BeforeDecember],
        ),
        rule(
            false,
            &["iam:GetUser"],
            &[format!("arn:aws:iam::{ACCOUNT}:user/alice")],
            &[],
        ),
    ];
    policies.push(ModelPolicy {
        name: "AliceOwn".into(),
        group: None,
        rules: own,
    });
    policies
}

/// `n` policies for other principals (or other services), none of which applies to alice.
pub fn unrelated(n: usize) -> Vec<ModelPolicy> {
    (0..n)
        .map(|i| ModelPolicy {
            name: format!("Other{i}"),
            group: Some("nobody"),
            rules: vec![rule(
                false,
                &[&format!("svc{i}:Do*")],
                &[format!("arn:aws:svc{i}:{REGION}:{ACCOUNT}:thing/{i}/*")],
                &[],
            )],
        })
        .collect()
}

/// The IAM JSON of a policy.
pub fn iam_json(policy: &ModelPolicy) -> String {
    let statements: Vec<serde_json::Value> = policy
        .rules
        .iter()
        .map(|r| {
            let mut cond = serde_json::Map::new();
            for c in &r.conds {
                let (op, key, value) = match c {
                    Cond::SameDesk => (
                        "StringEquals",
                        "aws:ResourceTag/desk",
                        "${aws:PrincipalTag/desk}",
                    ),
                    Cond::TradingSubnet => ("IpAddress", "aws:SourceIp", "10.20.0.0/16"),
                    Cond::BeforeDecember => {
                        ("DateLessThan", "aws:CurrentTime", "2026-12-01T00:00:00Z")
                    }
                    Cond::Mfa => ("Bool", "aws:MultiFactorAuthPresent", "true"),
                };
                cond.insert(op.to_owned(), serde_json::json!({ key: value }));
            }
            let mut st = serde_json::json!({
                "Effect": if r.deny { "Deny" } else { "Allow" },
                "Action": r.actions,
                "Resource": r.resources,
            });
            if !cond.is_empty() {
                st["Condition"] = serde_json::Value::Object(cond);
            }
            st
        })
        .collect();
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// The Cedar text of a policy: one `permit`/`forbid` per statement. Actions and resources
/// are matched like IAM does: exact names in the scope, wildcards with `like`.
pub fn cedar_text(policy: &ModelPolicy, principal_scope: &str) -> String {
    let mut out = String::new();
    for r in &policy.rules {
        let effect = if r.deny { "forbid" } else { "permit" };
        let exact: Vec<&String> = r.actions.iter().filter(|a| !a.contains('*')).collect();
        let mut when: Vec<String> = Vec::new();
        let action_scope = if exact.len() == r.actions.len() {
            let list: Vec<String> = exact.iter().map(|a| format!("Action::\"{a}\"")).collect();
            format!("action in [{}]", list.join(", "))
        } else {
            let alts: Vec<String> = r
                .actions
                .iter()
                .map(|a| format!("context.action like \"{a}\""))
                .collect();
            when.push(format!("({})", alts.join(" || ")));
            "action".to_owned()
        };
        if r.resources.iter().all(|x| x != "*") {
            let alts: Vec<String> = r
                .resources
                .iter()
                .map(|x| format!("resource.arn like \"{x}\""))
                .collect();
            when.push(format!("({})", alts.join(" || ")));
        }
        for c in &r.conds {
            when.push(
                match c {
                    Cond::SameDesk => {
                        "resource has desk && principal has desk && resource.desk == principal.desk"
                    }
                    Cond::TradingSubnet => "context.source_ip.isInRange(ip(\"10.20.0.0/16\"))",
                    Cond::BeforeDecember => "context.now < 1796083200",
                    Cond::Mfa => "context.mfa == true",
                }
                .to_owned(),
            );
        }
        let _ = write!(
            out,
            "{effect}(principal {principal_scope}, {action_scope}, resource)"
        );
        if when.is_empty() {
            out.push_str(";\n");
        } else {
            let _ = writeln!(out, " when {{ {} }};", when.join(" && "));
        }
    }
    out
}

/// The request of the benchmark: alice places a BTC-PERP order on binance, from the trading
/// subnet, on 2026-11-29, for her own desk. Allowed.
pub struct BenchRequest {
    pub principal: String,
    pub action: &'static str,
    pub resource: String,
    pub source_ip: &'static str,
    pub now_iso: &'static str,
    pub now_epoch: i64,
}

pub fn request() -> BenchRequest {
    BenchRequest {
        principal: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        action: "trading:PlaceOrder",
        resource: instrument("binance", "BTC-PERP"),
        source_ip: "10.20.3.7",
        now_iso: "2026-11-29T12:00:00Z",
        now_epoch: 1_795_953_600,
    }
}
