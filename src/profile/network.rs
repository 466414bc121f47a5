//! Network settings and the time estimate: time = rounds x RTT + bits / bandwidth.

use crate::cost::Cost;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A network between the parties.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Network {
    pub name: &'static str,
    /// Bandwidth in bits per second.
    pub bandwidth_bps: f64,
    /// Round-trip time in seconds.
    pub rtt_s: f64,
}

impl Network {
    /// LAN as in HawkEye's experiments: 1 Gbit/s, 0.2 ms RTT.
    pub const LAN: Network = Network {
        name: "lan",
        bandwidth_bps: 1e9,
        rtt_s: 0.2e-3,
    };
    /// WAN as in HawkEye's experiments: 9 Mbit/s, 72 ms RTT.
    pub const WAN: Network = Network {
        name: "wan",
        bandwidth_bps: 9e6,
        rtt_s: 72e-3,
    };

    /// Estimated seconds of the online phase.
    pub fn online_seconds(&self, c: &Cost) -> f64 {
        c.online_rounds * self.rtt_s + c.online_bits / self.bandwidth_bps
    }

    /// Estimated seconds of the offline phase.
    pub fn offline_seconds(&self, c: &Cost) -> f64 {
        c.offline_rounds * self.rtt_s + c.offline_bits / self.bandwidth_bps
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} Mbit/s, {} ms RTT)",
            self.name,
            self.bandwidth_bps / 1e6,
            self.rtt_s * 1e3
        )
    }
}

impl FromStr for Network {
    type Err = String;

    /// `lan`, `wan`, or `BANDWIDTH,RTT` with units (`100Mbit,10ms`, `1Gbit,0.5ms`).
    fn from_str(s: &str) -> Result<Network, String> {
        match s.to_ascii_lowercase().as_str() {
            "lan" => return Ok(Network::LAN),
            "wan" => return Ok(Network::WAN),
            _ => {}
        }
        let (bw, rtt) = s.split_once(',').ok_or_else(|| {
            format!("network '{s}' is not lan, wan or BANDWIDTH,RTT (e.g. 100Mbit,10ms)")
        })?;
        let bandwidth_bps = parse_unit(
            bw,
            &[("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)],
        )
        .ok_or_else(|| format!("bandwidth '{bw}' must be a number with gbit, mbit, kbit or bit"))?;
        let rtt_s = parse_unit(rtt, &[("ms", 1e-3), ("us", 1e-6), ("s", 1.0)])
            .ok_or_else(|| format!("RTT '{rtt}' must be a number with ms, us or s"))?;
        if bandwidth_bps <= 0.0 || rtt_s < 0.0 {
            return Err(format!(
                "network '{s}' needs a positive bandwidth and a non-negative RTT"
            ));
        }
        Ok(Network {
            name: "custom",
            bandwidth_bps,
            rtt_s,
        })
    }
}

fn parse_unit(text: &str, units: &[(&str, f64)]) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix("/s").unwrap_or(&t);
    units.iter().find_map(|(suffix, scale)| {
        t.strip_suffix(suffix)
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map(|v| v * scale)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_presets_and_custom_networks() {
        assert_eq!("wan".parse::<Network>().unwrap(), Network::WAN);
        let n: Network = "100Mbit,10ms".parse().unwrap();
        assert_eq!((n.bandwidth_bps, n.rtt_s), (1e8, 0.01));
        assert!("fast".parse::<Network>().is_err());
        assert!("100,10ms".parse::<Network>().is_err());
    }

    #[test]
    fn time_is_rounds_times_rtt_plus_bits_over_bandwidth() {
        let c = Cost {
            online_bits: 9e6,
            online_rounds: 10.0,
            ..Cost::default()
        };
        assert!((Network::WAN.online_seconds(&c) - (0.72 + 1.0)).abs() < 1e-12);
    }
}
