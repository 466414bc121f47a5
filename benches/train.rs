//! Training-step speed: build one training step of ResNet-50 at batch 128 (forward, loss,
//! backward, SGD update) and profile it under spu-semi2k (the target: < 200 ms);
//! the same for Adam, and for LeNet.

use criterion::{criterion_group, criterion_main, Criterion};
use hawkeye_mpc::autograd::{train_step, Optimizer, TrainOptions, Training};
use hawkeye_mpc::cost;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::hint::black_box;

fn train(c: &mut Criterion) {
    let model = cost::load_framework("spu-semi2k", &[]).expect("built-in cost model");
    for (name, batch) in [("resnet50", 128), ("lenet5", 128)] {
        let forward = zoo::build(
            name,
            &ZooOptions {
                batch,
                ..ZooOptions::default()
            },
        )
        .expect("zoo model")
        .expect("builds");
        for opt in ["sgd", "adam"] {
            let options = TrainOptions {
                optimizer: Optimizer::named(opt, 0.01).unwrap(),
                training: Training::of(&model),
                ..TrainOptions::default()
            };
            c.bench_function(
                &format!("train step {name} b{batch} {opt} spu-semi2k"),
                |b| {
                    b.iter(|| {
                        let step = train_step(black_box(&forward), &options).unwrap();
                        Profile::new(&step, &model).unwrap()
                    })
                },
            );
        }
    }
}

criterion_group!(benches, train);
criterion_main!(benches);
