//! Every backward rule against central finite differences (L = sum(f(x) * r), evaluated in f64).

mod common;
use common::*;
use vaecam_tensor::{Reduction, Tensor};

fn inp(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>) {
    (
        values(shape.iter().product(), seed, -1.0, 1.0),
        shape.to_vec(),
    )
}
fn inp_off_zero(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>) {
    (
        values_off_zero(shape.iter().product(), seed, -1.0, 1.0, 0.05),
        shape.to_vec(),
    )
}
fn inp_pos(shape: &[usize], seed: u64) -> (Vec<f32>, Vec<usize>) {
    (
        values(shape.iter().product(), seed, 0.5, 2.0),
        shape.to_vec(),
    )
}

const EPS: f32 = 1e-3;
const RTOL: f64 = 1e-2;
const ATOL: f64 = 2e-3;

device_tests! {
    fn unary_gradients(dev: &Device) {
        let s = [3, 5];
        check_grad(dev, &[inp(&s, 1)], |x| x[0].neg(), EPS, RTOL, ATOL, "neg");
        check_grad(dev, &[inp(&s, 1)], |x| x[0].exp(), EPS, RTOL, ATOL, "exp");
        check_grad(dev, &[inp_pos(&s, 1)], |x| x[0].log(), EPS, RTOL, ATOL, "log");
        check_grad(dev, &[inp_pos(&s, 1)], |x| x[0].sqrt(), EPS, RTOL, ATOL, "sqrt");
        check_grad(dev, &[inp_off_zero(&s, 1)], |x| x[0].abs(), EPS, RTOL, ATOL, "abs");
        check_grad(dev, &[inp_off_zero(&s, 1)], |x| x[0].relu(), EPS, RTOL, ATOL, "relu");
        check_grad(dev, &[inp_off_zero(&s, 1)], |x| x[0].leaky_relu(0.2), EPS, RTOL, ATOL, "leaky_relu");
        check_grad(dev, &[inp(&s, 1)], |x| x[0].sigmoid(), EPS, RTOL, ATOL, "sigmoid");
        check_grad(dev, &[inp(&s, 1)], |x| x[0].tanh(), EPS, RTOL, ATOL, "tanh");
        check_grad(dev, &[inp(&s, 1)], |x| x[0].softplus(), EPS, RTOL, ATOL, "softplus");
        check_grad(dev, &[(values_off_zero(15, 2, -2.0, 2.0, 0.05).into_iter().map(|v| if (v - 0.5).abs() < 0.05 { v + 0.1 } else { v }).collect(), vec![3, 5])], |x| x[0].clamp(-1.0, 0.5), EPS, RTOL, ATOL, "clamp");
        check_grad(dev, &[inp_pos(&s, 1)], |x| x[0].powf(2.5), EPS, RTOL, ATOL, "powf");
        check_grad(dev, &[inp(&s, 1)], |x| x[0].square(), EPS, RTOL, ATOL, "square");
        check_grad(dev, &[inp(&s, 1)], |x| x[0].affine(-3.0, 1.0), EPS, RTOL, ATOL, "affine");
        check_grad(dev, &[inp_pos(&s, 1)], |x| x[0].recip(), EPS, RTOL, ATOL, "recip");
    }

    fn binary_gradients_with_broadcasting(dev: &Device) {
        for (sa, sb) in [(vec![2, 3, 4], vec![2, 3, 4]), (vec![2, 3, 4], vec![4]), (vec![2, 1, 4], vec![3, 1]), (vec![1], vec![2, 3])] {
            let what = format!("{sa:?} with {sb:?}");
            check_grad(dev, &[inp(&sa, 1), inp(&sb, 2)], |x| x[0].add(&x[1]), EPS, RTOL, ATOL, &format!("add {what}"));
            check_grad(dev, &[inp(&sa, 1), inp(&sb, 2)], |x| x[0].sub(&x[1]), EPS, RTOL, ATOL, &format!("sub {what}"));
            check_grad(dev, &[inp(&sa, 1), inp(&sb, 2)], |x| x[0].mul(&x[1]), EPS, RTOL, ATOL, &format!("mul {what}"));
            check_grad(dev, &[inp(&sa, 1), inp_pos(&sb, 2)], |x| x[0].div(&x[1]), EPS, RTOL, ATOL, &format!("div {what}"));
            // Distinct operands (values far apart) keep max/min off their kink.
            let a = inp(&sa, 3);
            let b = (values(sb.iter().product(), 4, -1.0, 1.0).into_iter().map(|v| v + 0.013).collect(), sb.clone());
            check_grad(dev, &[a.clone(), b.clone()], |x| x[0].maximum(&x[1]), EPS, RTOL, ATOL, &format!("maximum {what}"));
            check_grad(dev, &[a, b], |x| x[0].minimum(&x[1]), EPS, RTOL, ATOL, &format!("minimum {what}"));
        }
        check_grad(dev, &[inp(&[3, 1], 5)], |x| x[0].broadcast_to(vec![2, 3, 4]), EPS, RTOL, ATOL, "broadcast_to");
    }

    fn reduction_gradients(dev: &Device) {
        let s = [2, 3, 4];
        for axes in [vec![0], vec![1, 2], vec![0, 2], vec![0, 1, 2]] {
            check_grad(dev, &[inp(&s, 1)], |x| x[0].sum(&axes, false), EPS, RTOL, ATOL, &format!("sum {axes:?}"));
            check_grad(dev, &[inp(&s, 1)], |x| x[0].mean(&axes, true), EPS, RTOL, ATOL, &format!("mean {axes:?}"));
            check_grad(dev, &[inp(&s, 1)], |x| x[0].max(&axes, false), EPS, RTOL, ATOL, &format!("max {axes:?}"));
            check_grad(dev, &[inp(&s, 1)], |x| x[0].min(&axes, true), EPS, RTOL, ATOL, &format!("min {axes:?}"));
        }
        check_grad(dev, &[inp(&[2, 3, 5, 4], 2)], |x| x[0].global_avg_pool(), EPS, RTOL, ATOL, "global_avg_pool");
    }

    fn matmul_and_linear_gradients(dev: &Device) {
        use vaecam_tensor::ops::matmul::matmul_t;
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta { inp(&[4, 3], 1) } else { inp(&[3, 4], 1) };
            let b = if tb { inp(&[5, 4], 2) } else { inp(&[4, 5], 2) };
            check_grad(dev, &[a, b], |x| matmul_t(&x[0], &x[1], ta, tb), EPS, RTOL, ATOL, &format!("matmul ta{ta} tb{tb}"));
        }
        check_grad(dev, &[inp(&[2, 3, 4], 1), inp(&[2, 4, 5], 2)], |x| x[0].matmul(&x[1]), EPS, RTOL, ATOL, "batched matmul");
        check_grad(dev, &[inp(&[2, 3, 4], 1), inp(&[4, 5], 2)], |x| x[0].matmul(&x[1]), EPS, RTOL, ATOL, "matmul broadcast b");
        check_grad(dev, &[inp(&[3, 4], 1), inp(&[2, 4, 5], 2)], |x| x[0].matmul(&x[1]), EPS, RTOL, ATOL, "matmul broadcast a");
        check_grad(dev, &[inp(&[3, 6], 1), inp(&[4, 6], 2), inp(&[4], 3)], |x| x[0].linear(&x[1], Some(&x[2])), EPS, RTOL, ATOL, "linear");
    }

    fn conv_gradients(dev: &Device) {
        // (x shape, c_out, k, stride, padding)
        for (xs, co, k, s, p) in [(vec![1, 1, 5, 7], 2, 1, 1, 0), (vec![2, 3, 6, 5], 4, 3, 1, 1), (vec![2, 2, 8, 8], 3, 4, 2, 1), (vec![1, 2, 7, 7], 2, 4, 2, 2), (vec![3, 1, 5, 5], 1, 2, 2, 0)] {
            let ws = vec![co, xs[1], k, k];
            check_grad(dev, &[inp(&xs, 1), inp(&ws, 2), inp(&[co], 3)], |x| x[0].conv2d(&x[1], Some(&x[2]), s, p), EPS, RTOL, ATOL, &format!("conv2d {xs:?} k{k} s{s} p{p}"));
        }
        // (x shape, c_out, k, stride, padding, output_padding)
        for (xs, co, k, s, p, op) in [(vec![1, 2, 4, 4], 3, 4, 2, 1, 0), (vec![2, 3, 3, 3], 2, 3, 2, 1, 1), (vec![1, 1, 5, 4], 1, 1, 1, 0, 0), (vec![2, 2, 3, 2], 2, 4, 2, 2, 1)] {
            let ws = vec![xs[1], co, k, k];
            check_grad(dev, &[inp(&xs, 1), inp(&ws, 2), inp(&[co], 3)], |x| x[0].conv_transpose2d(&x[1], Some(&x[2]), s, p, op), EPS, RTOL, ATOL, &format!("conv_transpose2d {xs:?} k{k} s{s} p{p} op{op}"));
        }
        // The two conv gradients are ops in their own right.
        check_grad(dev, &[inp(&[2, 3, 4, 4], 1), inp(&[3, 2, 3, 3], 2)], |x| x[0].conv2d_backward_data(&x[1], (8, 8), 2, 1), EPS, RTOL, ATOL, "conv2d_backward_data");
        check_grad(dev, &[inp(&[2, 2, 8, 8], 1), inp(&[2, 3, 4, 4], 2)], |x| x[0].conv2d_backward_weight(&x[1], (3, 3), 2, 1), EPS, RTOL, ATOL, "conv2d_backward_weight");
    }

    fn pool_upsample_gradients(dev: &Device) {
        check_grad(dev, &[inp(&[2, 2, 7, 6], 1)], |x| x[0].avg_pool2d(2, 2), EPS, RTOL, ATOL, "avg_pool2d");
        check_grad(dev, &[inp(&[1, 2, 6, 6], 1)], |x| x[0].avg_pool2d(3, 1), EPS, RTOL, ATOL, "avg_pool2d k3 s1");
        for (oh, ow) in [(8, 10), (3, 2), (5, 9)] {
            check_grad(dev, &[inp(&[2, 2, 4, 5], 1)], |x| x[0].upsample_bilinear(oh, ow), EPS, RTOL, ATOL, &format!("upsample to {oh}x{ow}"));
        }
    }

    fn layout_gradients(dev: &Device) {
        check_grad(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].reshape(vec![4, 6]), EPS, RTOL, ATOL, "reshape");
        check_grad(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].permute(&[2, 0, 1]), EPS, RTOL, ATOL, "permute");
        check_grad(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].transpose(0, 2), EPS, RTOL, ATOL, "transpose");
        check_grad(dev, &[inp(&[2, 5, 3], 1)], |x| x[0].slice(1, 1, 3), EPS, RTOL, ATOL, "slice");
        check_grad(dev, &[inp(&[2, 2, 3], 1)], |x| x[0].pad_axis(1, 1, 5), EPS, RTOL, ATOL, "pad_axis");
        check_grad(dev, &[inp(&[2, 2, 3], 1), inp(&[2, 4, 3], 2)], |x| Tensor::concat(&[x[0].clone(), x[1].clone()], 1), EPS, RTOL, ATOL, "concat");
        check_grad(dev, &[inp(&[3, 4], 1)], |x| x[0].index_select(0, &[2, 0, 2, 1]), EPS, RTOL, ATOL, "index_select");
        check_grad(dev, &[inp(&[4, 3], 1)], |x| x[0].index_add(0, &[1, 1, 0, 2], 3), EPS, RTOL, ATOL, "index_add");
    }

    fn loss_gradients(dev: &Device) {
        let target = (values(12, 9, 0.0, 1.0), vec![3, 4]);
        check_grad(dev, &[(values(12, 1, -4.0, 4.0), vec![3, 4]), target.clone()], |x| x[0].bce_with_logits(&x[1], Reduction::BatchMean), EPS, RTOL, ATOL, "bce_with_logits");
        check_grad(dev, &[inp(&[3, 4], 1), target], |x| x[0].mse(&x[1], Reduction::Mean), EPS, RTOL, ATOL, "mse");
    }

    fn gradients_of_intermediate_tensors(dev: &Device) {
        // y = sum(relu(W x)^2); dy/dh for the intermediate h = W x equals 2 relu(h) step(h).
        let x = rand_t(&[4, 3], 1, dev);
        let w = rand_t(&[5, 3], 2, dev).requires_grad_();
        let h = x.linear(&w, None).unwrap();
        let y = h.relu().unwrap().square().unwrap().sum_all().unwrap();
        let g = vaecam_tensor::grad(&[y], std::slice::from_ref(&h), None, false).unwrap();
        let hv = h.to_vec().unwrap();
        let want: Vec<f64> = hv.iter().map(|&v| if v > 0.0 { 2.0 * v as f64 } else { 0.0 }).collect();
        assert_close(&g[0].to_vec().unwrap(), &want, 1e-6, 1e-6, "d y / d h");
        // An input the output does not depend on gets zeros; a seed of the wrong shape is an error.
        let unrelated = rand_t(&[2], 3, dev).requires_grad_();
        let y2 = h.sum_all().unwrap();
        let g = vaecam_tensor::grad(std::slice::from_ref(&y2), &[unrelated], None, false).unwrap();
        assert_eq!(g[0].to_vec().unwrap(), vec![0.0, 0.0]);
        let bad = vaecam_tensor::grad(&[y2], &[h], Some(&[Tensor::ones([3], dev).unwrap()]), false);
        assert!(bad.unwrap_err().to_string().contains("seed"));
    }

    fn no_grad_and_detach_stop_the_tape(dev: &Device) {
        let w = rand_t(&[3], 1, dev).requires_grad_();
        let y = vaecam_tensor::no_grad(|| w.square().unwrap());
        assert!(!y.requires_grad() && y.is_leaf());
        let z = w.detach().square().unwrap().add(&w).unwrap().sum_all().unwrap();
        let g = z.backward().unwrap();
        assert_eq!(g.get(&w).unwrap().to_vec().unwrap(), vec![1.0, 1.0, 1.0]);
        assert!(Tensor::ones([2], dev).unwrap().backward().is_err());
    }
}

mod residual {
    use super::common::*;
    use vaecam_tensor::nn::{Module, ResidualBlockConfig};
    use vaecam_tensor::Device;

    #[test]
    fn residual_block_gradient_matches_finite_differences() {
        // Downsampling block (1x1 shortcut); the input gradient exercises both paths.
        let dev = Device::cpu();
        let x = (values(2 * 3 * 6 * 6, 4, -1.0, 1.0), vec![2, 3, 6, 6]);
        check_grad(
            &dev,
            &[x],
            |t| {
                ResidualBlockConfig::new(3, 4)
                    .stride(2)
                    .slope(0.1)
                    .init(9, t[0].device())?
                    .forward(&t[0])
            },
            1e-3,
            2e-2,
            3e-3,
            "residual block",
        );
        let b = ResidualBlockConfig::new(3, 3).init(1, &dev).unwrap();
        assert_eq!(
            b.forward(&rand_t(&[1, 3, 5, 5], 1, &dev)).unwrap().dims(),
            &[1, 3, 5, 5]
        );
    }
}

#[test]
fn backward_for_returns_the_chosen_leaves_only() {
    // y = (a * b).sum() + c.sum(): restricting to [a, c] gives backward()'s gradients of
    // those two and nothing for b; a leaf the loss never reaches is left out, as in
    // backward().
    let dev = vaecam_tensor::Device::cpu();
    let mk = |v: Vec<f32>| Tensor::from_vec(v, [3], &dev).unwrap().requires_grad_();
    let (a, b, c, unused) = (
        mk(vec![1.0, 2.0, 3.0]),
        mk(vec![4.0, -5.0, 6.0]),
        mk(vec![0.5, 0.5, 0.5]),
        mk(vec![9.0, 9.0, 9.0]),
    );
    let loss = a
        .mul(&b)
        .unwrap()
        .sum_all()
        .unwrap()
        .add(&c.sum_all().unwrap())
        .unwrap();
    let all = loss.backward().unwrap();
    let some = vaecam_tensor::backward_for(&loss, &[a.clone(), c.clone(), unused.clone()]).unwrap();
    assert_eq!(some.len(), 2);
    assert!(some.get(&b).is_none() && some.get(&unused).is_none());
    for t in [&a, &c] {
        let (x, y) = (
            some.get(t).unwrap().to_vec().unwrap(),
            all.get(t).unwrap().to_vec().unwrap(),
        );
        assert_eq!(x, y);
    }
    assert_eq!(
        some.get(&a).unwrap().to_vec().unwrap(),
        vec![4.0, -5.0, 6.0]
    );
    assert!(vaecam_tensor::backward_for(&a, std::slice::from_ref(&a)).is_err());
}
