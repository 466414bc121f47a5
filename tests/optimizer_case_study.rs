//! HawkEye's optimizer case study (Table 4) as a test of direction and size: under ABY3, one
//! training step of LeNet at batch 128 with Adam spends most of its online bits in the update
//! (HawkEye: 85.6%), with SGD almost none (0.9%); Adam also adds rounds (319 -> 584).

use hawkeye_mpc::autograd::{train_step, Optimizer, TrainOptions, Training};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Graph;
use hawkeye_mpc::graph::Phase;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{Conv, Layer, ModelBuilder};

fn aby3() -> CostModel {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cost_models/aby3-hawkeye.toml"
    );
    cost::load_framework(path, &[]).unwrap()
}

/// The LeNet of HawkEye's case study (wqruan/HawkEye,
/// `Programs/Source/autograd_lenet_train_{sgd,adam}.mpc`): conv 1->6 k5, relu, avgpool 2,
/// conv 6->16 k5, relu, avgpool 2, fc 256-120, relu, fc 120-840, relu, fc 840-10; MNIST
/// 1x28x28 at batch 128.
fn hawkeye_lenet() -> Graph {
    let mut b = ModelBuilder::new("hawkeye-lenet");
    let x = b.input("input", vec![128, 1, 28, 28]).unwrap();
    let pool = Layer::AvgPool {
        kernel: 2,
        stride: 2,
    };
    let x = b
        .sequential(
            "conv",
            x,
            &[
                Layer::Conv(Conv::new(6, 5)),
                Layer::Relu,
                pool,
                Layer::Conv(Conv::new(16, 5)),
                Layer::Relu,
                pool,
            ],
        )
        .unwrap();
    let x = b.flatten(x).unwrap();
    let x = b
        .sequential(
            "fc",
            x,
            &[
                Layer::Linear(120),
                Layer::Relu,
                Layer::Linear(840),
                Layer::Relu,
            ],
        )
        .unwrap();
    let y = b.linear("fc1", x, 10, true).unwrap();
    b.finish(vec![y])
}

/// (update share of online bits, total online bits, total rounds)
fn step(model: &CostModel, optimizer: &str) -> (f64, f64, f64) {
    let lenet = hawkeye_lenet();
    let options = TrainOptions {
        optimizer: Optimizer::named(optimizer, 0.01).unwrap(),
        training: Training::of(model),
        ..TrainOptions::default()
    };
    let g = train_step(&lenet, &options).unwrap();
    let p = Profile::new(&g, model).unwrap();
    let update = p
        .phases()
        .into_iter()
        .find(|(ph, _)| *ph == Phase::Update)
        .map(|(_, c)| c.online_bits)
        .unwrap();
    (
        update / p.total.online_bits,
        p.total.online_bits,
        p.total.online_rounds,
    )
}

#[test]
fn adam_dominates_a_lenet_step_under_aby3_and_sgd_does_not() {
    let model = aby3();
    let (sgd_share, sgd_bits, sgd_rounds) = step(&model, "sgd");
    let (adam_share, adam_bits, adam_rounds) = step(&model, "adam");
    eprintln!(
        "SGD: {:.2} GB, update {:.1}%, {sgd_rounds} rounds; Adam: {:.2} GB, update {:.1}%, {adam_rounds} rounds",
        sgd_bits / 8e9,
        100.0 * sgd_share,
        adam_bits / 8e9,
        100.0 * adam_share
    );
    // HawkEye: SGD's update 0.9% of the step, Adam's 85.6%; Adam's step ~6.7x SGD's
    assert!(sgd_share < 0.03, "SGD update share {sgd_share}");
    assert!(
        (0.75..0.95).contains(&adam_share),
        "Adam update share {adam_share}"
    );
    assert!(adam_bits > 4.0 * sgd_bits && adam_bits < 12.0 * sgd_bits);
    assert!(adam_rounds > sgd_rounds);
}
