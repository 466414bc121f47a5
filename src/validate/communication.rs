//! The communication of the original and the variant under one framework, joined by module
//! path ([`Profile::layers`]).

use crate::cost::{Cost, CostModel};
use crate::graph::{Graph, Visibility};
use crate::profile::Profile;

/// One module's cost in each graph (`None`: the module is not in that graph).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleCosts {
    pub path: String,
    pub original: Option<Cost>,
    pub variant: Option<Cost>,
}

impl ModuleCosts {
    /// Online bits the variant saves in this module (negative: it spends more).
    pub fn saved_online_bits(&self) -> f64 {
        let bits = |c: &Option<Cost>| c.as_ref().map_or(0.0, |c| c.online_bits);
        bits(&self.original) - bits(&self.variant)
    }
}

/// Both profiles' totals and their modules side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct CommunicationDiff {
    pub framework: String,
    pub weights: Visibility,
    pub original: Cost,
    pub variant: Cost,
    /// The original's modules in execution order, then the variant's other modules in theirs.
    pub modules: Vec<ModuleCosts>,
}

impl CommunicationDiff {
    /// Online bits saved by the variant (negative: it costs more).
    pub fn saved_online_bits(&self) -> f64 {
        self.original.online_bits - self.variant.online_bits
    }
}

/// Profiles both graphs under `model` with parameters of visibility `weights` and joins their
/// layers by module path. Fails with the reason when either graph cannot be costed.
pub fn compare_communication(
    original: &Graph,
    variant: &Graph,
    model: &CostModel,
    weights: Visibility,
) -> Result<CommunicationDiff, String> {
    let profile = |g: &Graph, which: &str| {
        Profile::new(&g.with_parameter_visibility(weights), model)
            .map_err(|e| format!("the {which} cannot be costed: {e}"))
    };
    let (po, pv) = (profile(original, "original")?, profile(variant, "variant")?);
    let mut modules: Vec<ModuleCosts> = po
        .layers()
        .into_iter()
        .map(|l| ModuleCosts {
            path: l.path,
            original: Some(l.cost),
            variant: None,
        })
        .collect();
    for l in pv.layers() {
        match modules.iter_mut().find(|m| m.path == l.path) {
            Some(m) => m.variant = Some(l.cost),
            None => modules.push(ModuleCosts {
                path: l.path,
                original: None,
                variant: Some(l.cost),
            }),
        }
    }
    Ok(CommunicationDiff {
        framework: model.framework.name.clone(),
        weights,
        original: po.total,
        variant: pv.total,
        modules,
    })
}
