use std::time::Instant;
use vaecam_tensor::{Device, Tensor};
fn time(dev: &Device, mut f: impl FnMut()) -> f64 {
    f(); dev.synchronize().unwrap();
    f(); dev.synchronize().unwrap();
    let mut v = vec![];
    for _ in 0..5 { let t = Instant::now(); f(); dev.synchronize().unwrap(); v.push(t.elapsed().as_secs_f64()); }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap()); v[2]
}
#[test]
fn perf() {
    let dev = Device::gpu().unwrap();
    let a = Tensor::randn([1024, 1024], 1, &dev).unwrap();
    let b = Tensor::randn([1024, 1024], 2, &dev).unwrap();
    let s = time(&dev, || { a.matmul(&b).unwrap(); });
    println!("matmul {:.1} GFLOP/s", 2.0 * 1024f64.powi(3) / s / 1e9);
    let big = Tensor::randn([1 << 24], 9, &dev).unwrap();
    let s = time(&dev, || { big.sum_all().unwrap(); });
    println!("sum16M {:.2} GB/s ({:.1} ms)", 64.0 * 1.048576e6 / s / 1e9, s * 1e3);
    let s = time(&dev, || { big.neg().unwrap(); });
    println!("neg16M {:.2} GB/s ({:.1} ms)", 128.0 * 1.048576e6 / s / 1e9, s * 1e3);
    let m = big.reshape([4096, 4096]).unwrap();
    let s = time(&dev, || { m.sum(&[1], false).unwrap(); });
    println!("rowsum {:.1} ms", s * 1e3);
    let s = time(&dev, || { m.sum(&[0], false).unwrap(); });
    println!("colsum {:.1} ms", s * 1e3);
    if std::env::var("ONLY_SUM").is_ok() { return; }
    let n = 64;
    for &(cin, cout, hw) in &[(1usize, 32usize, 64usize), (32, 32, 32), (32, 64, 16), (64, 64, 8)] {
        let x = Tensor::randn([n, cin, hw, hw], 3, &dev).unwrap();
        let w = Tensor::randn([cout, cin, 4, 4], 4, &dev).unwrap();
        let o = hw / 2;
        let dy = Tensor::randn([n, cout, o, o], 5, &dev).unwrap();
        let fl = 2.0 * (n * cout * o * o * cin * 16) as f64;
        let f = time(&dev, || { x.conv2d(&w, None, 2, 1).unwrap(); });
        let d = time(&dev, || { dy.conv2d_backward_data(&w, (hw, hw), 2, 1).unwrap(); });
        let ww = time(&dev, || { x.conv2d_backward_weight(&dy, (4, 4), 2, 1).unwrap(); });
        println!("{cin}->{cout}@{hw}: fwd {:.1} bwd-data {:.1} bwd-w {:.1} fwd+bwd {:.1} GFLOP/s", fl / f / 1e9, fl / d / 1e9, fl / ww / 1e9, 3.0 * fl / (f + d + ww) / 1e9);
    }
}
