//! Replaying CHEETAH's Ferret OT buffers (spu-cheetah): the model charges each OT drawn its
//! share of a Ferret extension (`ferret_refill`, the steady state); a measured run pays whole
//! extensions, as many as its buffers cross. These helpers read the model's own draws (the
//! `ferret_refill` entries under each OT kernel of a chain) and count the extensions a run
//! with a known buffer history paid, to compare runs with the mechanism rather than the mean.

use hawkeye_mpc::cost::{CostModel, CostNode};
use hawkeye_mpc::profile::{NodeCosting, Profile};

/// SPU's OT kernels (the names of its profile and of the model's functions).
pub const OT_KERNELS: &[&str] = &[
    "msb_a2b", "mul_a1b", "trunc_a", "b2a", "and_bb", "a2b", "equal_ap",
];

fn param(m: &CostModel, name: &str) -> f64 {
    m.param(name).unwrap()
}

fn mpcot_seeds(m: &CostModel) -> f64 {
    let (n, t) = (param(m, "ferret_n"), param(m, "ferret_t"));
    t * (n / t).log2().ceil()
}

/// OTs left in a buffer after the one-time setup: the pre-extension's 470,016 OTs less the
/// seeds an extension reserves (ferret_k + ferret_t * ceil_log2(ferret_n / ferret_t)).
/// Source: yacl_ote_adapter.h `pre_lpn_param_{470016, ...}`, yacl_ote_adapter.cc OneTimeSetup.
pub fn setup_leftover(m: &CostModel) -> f64 {
    470016.0 - param(m, "ferret_k") - mpcot_seeds(m)
}

/// OTs one extension adds to a buffer.
pub fn per_extension(m: &CostModel) -> f64 {
    param(m, "ferret_n") - param(m, "ferret_k") - mpcot_seeds(m)
}

/// Messages of one extension (received by the party that is not the buffer's OT sender).
pub fn extension_messages(m: &CostModel) -> f64 {
    param(m, "ferret_t") + 1.0
}

/// Bytes of one extension (sent by the buffer's OT sender).
pub fn extension_bytes(m: &CostModel) -> f64 {
    let (n, t) = (param(m, "ferret_n"), param(m, "ferret_t"));
    t * (n / t).log2().ceil() * 16.0 + 16.0
}

/// Extensions a buffer has run after `drawn` OTs since the setup.
pub fn extensions(m: &CostModel, drawn: f64) -> f64 {
    let left = setup_leftover(m);
    if drawn <= left {
        0.0
    } else {
        ((drawn - left) / per_extension(m)).ceil()
    }
}

/// The model's OT kernels in one chain or profile: base messages (without the amortised
/// extensions), the amortised extensions' messages and bytes, and the OTs drawn per OT
/// instance and direction (`draws[instance][sending party]`).
#[derive(Default, Debug, Clone)]
pub struct OtUse {
    pub base_rounds: f64,
    pub refill_rounds: f64,
    pub refill_bytes: f64,
    pub draws: [[f64; 2]; 2],
    pub instances: usize,
}

fn has(node: &CostNode, label: &str) -> bool {
    node.label == label || node.children.iter().any(|c| has(c, label))
}

fn find<'a>(node: &'a CostNode, label: &str, out: &mut Vec<&'a CostNode>) {
    if node.label == label {
        out.push(node);
        return;
    }
    for c in &node.children {
        find(c, label, out);
    }
}

fn ot_use(m: &CostModel, node: &CostNode, u: &mut OtUse) {
    if OT_KERNELS.contains(&node.label.as_str()) {
        // a2b is made of and_bb kernels: take the innermost kernels that draw OTs
        let inner = node
            .children
            .iter()
            .any(|c| OT_KERNELS.iter().any(|k| has(c, k)));
        if !inner {
            let mut refills = Vec::new();
            find(node, "ferret_refill", &mut refills);
            let workers = if has(node, "ot_second_worker") { 2 } else { 1 };
            u.instances = u.instances.max(workers);
            let bits_per_ot = 8.0 * extension_bytes(m) / per_extension(m);
            for r in refills {
                u.refill_rounds += r.cost.online_rounds;
                u.refill_bytes += r.cost.online_bits / 8.0;
                for (p, bits) in r.cost.party_online_bits.iter().enumerate() {
                    for w in 0..workers {
                        u.draws[w][p] += bits / bits_per_ot / workers as f64;
                    }
                }
            }
            u.base_rounds += node.cost.online_rounds;
            return;
        }
    }
    for c in &node.children {
        ot_use(m, c, u);
    }
}

/// A message count computed in floating point (base = kernel rounds - amortised extensions).
pub fn whole(x: f64) -> f64 {
    assert!((x - x.round()).abs() < 1e-6, "{x} is not a whole number");
    x.round()
}

/// The OT use of a whole profile.
pub fn ot_use_of(m: &CostModel, p: &Profile) -> OtUse {
    let mut u = OtUse::default();
    for n in &p.nodes {
        if let NodeCosting::Chain { chain } = &n.costing {
            ot_use(m, chain, &mut u);
        }
    }
    u.base_rounds = whole(u.base_rounds - u.refill_rounds);
    u
}

/// Extensions each party receives ([receiving party]) while its peer's buffers go from `before`
/// to `after` times the run's draws (fresh runtime: 0 to 1; the harness' warm run: 2 to 3).
pub fn extensions_received(m: &CostModel, u: &OtUse, before: f64, after: f64) -> [f64; 2] {
    let mut got = [0.0; 2];
    for inst in &u.draws {
        for (sender, &d) in inst.iter().enumerate() {
            got[1 - sender] += extensions(m, after * d) - extensions(m, before * d);
        }
    }
    got
}

/// The OT buffers of one runtime through a sequence of runs (`drawn[instance][sending party]`).
#[derive(Default)]
pub struct Buffers {
    drawn: [[f64; 2]; 2],
}

impl Buffers {
    /// Runs `u` on these buffers: the extensions each party receives.
    pub fn run(&mut self, m: &CostModel, u: &OtUse) -> [f64; 2] {
        let mut got = [0.0; 2];
        for (i, inst) in u.draws.iter().enumerate() {
            for (sender, &d) in inst.iter().enumerate() {
                let before = self.drawn[i][sender];
                self.drawn[i][sender] += d;
                got[1 - sender] += extensions(m, before + d) - extensions(m, before);
            }
        }
        got
    }
}
