//! `hawkeye compare`: one row per framework.

use super::{bytes, percent, seconds};
use crate::profile::{Network, Profile};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

/// A comparison row: the framework's profile, or why it could not cost the model.
pub type CompareRow = (String, Result<Profile, String>);

/// Framework, online/offline MB, rounds, LAN and WAN time, and the top bottleneck module.
pub fn table(rows: &[CompareRow]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "framework",
        "online",
        "offline",
        "rounds",
        "LAN time",
        "WAN time",
        "top bottleneck (online)",
    ]);
    for (name, result) in rows {
        match result {
            Ok(p) => {
                let c = &p.total;
                let seconds_on = |n: &Network| n.online_seconds(c) + n.offline_seconds(c);
                let top = p
                    .layers()
                    .into_iter()
                    .max_by(|a, b| a.cost.online_bits.total_cmp(&b.cost.online_bits))
                    .filter(|l| l.cost.online_bits > 0.0)
                    .map(|l| {
                        format!(
                            "{} {} ({})",
                            if l.path.is_empty() { "(top)" } else { &l.path },
                            l.op,
                            percent(l.cost.online_bits, c.online_bits)
                        )
                    })
                    .unwrap_or_default();
                t.add_row([
                    name.clone(),
                    bytes(c.online_bits),
                    bytes(c.offline_bits),
                    format!("{}", c.online_rounds + c.offline_rounds),
                    seconds(seconds_on(&Network::LAN)),
                    seconds(seconds_on(&Network::WAN)),
                    top,
                ]);
            }
            Err(e) => {
                // The reason without the file and entry prefix, up to its parenthesis.
                let first = e.lines().next().unwrap_or_default();
                let reason = first.rsplit(": ").next().unwrap_or(first);
                let first = reason.split(" (").next().unwrap_or(reason).to_string();
                t.add_row([
                    name.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    format!("cannot cost: {first}"),
                ]);
            }
        }
    }
    format!("{t}\n")
}
