//! Second-order gradients: a scalar built from a first-order gradient (create_graph),
//! differentiated again, against finite differences of the first-order gradient. Plus the
//! Grad-CAM check the attention crate stands on.

mod common;
use common::*;
use vaecam_tensor::{grad, Tensor};

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

const EPS: f32 = 1e-3;
const RTOL: f64 = 2e-2;
const ATOL: f64 = 3e-3;

device_tests! {
    fn second_order_unary(dev: &Device) {
        // f = op(x) * y: d2/dx2 exercises op'' and the cross term exercises op'.
        let s = [3, 4];
        let y = inp(&s, 9);
        check_second_order(dev, &[inp_off_zero(&s, 1), y.clone()], |x| x[0].relu()?.mul(&x[1]), EPS, RTOL, ATOL, "relu");
        check_second_order(dev, &[inp_off_zero(&s, 1), y.clone()], |x| x[0].leaky_relu(0.2)?.mul(&x[1]), EPS, RTOL, ATOL, "leaky_relu");
        check_second_order(dev, &[inp(&s, 1), y.clone()], |x| x[0].sigmoid()?.mul(&x[1]), EPS, RTOL, ATOL, "sigmoid");
        check_second_order(dev, &[inp(&s, 1), y.clone()], |x| x[0].exp()?.mul(&x[1]), EPS, RTOL, ATOL, "exp");
        check_second_order(dev, &[(values(12, 1, 0.5, 2.0), s.to_vec()), y.clone()], |x| x[0].log()?.mul(&x[1]), EPS, RTOL, ATOL, "log");
        check_second_order(dev, &[inp(&s, 1), y.clone()], |x| x[0].tanh()?.mul(&x[1]), EPS, RTOL, ATOL, "tanh");
        check_second_order(dev, &[inp(&s, 1), y.clone()], |x| x[0].softplus()?.mul(&x[1]), EPS, RTOL, ATOL, "softplus");
        check_second_order(dev, &[(values(12, 1, 0.5, 2.0), s.to_vec()), y], |x| x[0].sqrt()?.mul(&x[1]), EPS, RTOL, ATOL, "sqrt");
    }

    fn second_order_binary_and_reductions(dev: &Device) {
        check_second_order(dev, &[inp(&[2, 3], 1), inp(&[3], 2)], |x| x[0].mul(&x[1])?.mul(&x[0]), EPS, RTOL, ATOL, "mul");
        check_second_order(dev, &[inp(&[2, 3], 1), inp(&[2, 1], 2)], |x| x[0].add(&x[1])?.square(), EPS, RTOL, ATOL, "add");
        check_second_order(dev, &[inp(&[2, 3], 1), (values(3, 2, 0.5, 2.0), vec![3])], |x| x[0].div(&x[1]), EPS, RTOL, ATOL, "div");
        let b = (values(6, 4, -1.0, 1.0).into_iter().map(|v| v + 0.013).collect(), vec![2, 3]);
        check_second_order(dev, &[inp(&[2, 3], 3), b.clone()], |x| x[0].maximum(&x[1])?.square(), EPS, RTOL, ATOL, "maximum");
        check_second_order(dev, &[inp(&[2, 3], 3), b], |x| x[0].minimum(&x[1])?.square(), EPS, RTOL, ATOL, "minimum");
        check_second_order(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].sum(&[1], true)?.square(), EPS, RTOL, ATOL, "sum");
        check_second_order(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].mean(&[0, 2], false)?.square(), EPS, RTOL, ATOL, "mean");
        check_second_order(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].max(&[2], false)?.square(), EPS, RTOL, ATOL, "max");
        check_second_order(dev, &[inp(&[2, 3, 4], 1)], |x| x[0].min(&[0, 1], false)?.square(), EPS, RTOL, ATOL, "min");
        check_second_order(dev, &[inp(&[2, 3, 4, 5], 1)], |x| x[0].global_avg_pool()?.square(), EPS, RTOL, ATOL, "global_avg_pool");
    }

    fn second_order_linear_conv_upsample(dev: &Device) {
        check_second_order(dev, &[inp(&[3, 5], 1), inp(&[4, 5], 2), inp(&[4], 3)], |x| x[0].linear(&x[1], Some(&x[2]))?.square(), EPS, RTOL, ATOL, "linear");
        check_second_order(dev, &[inp(&[2, 2, 6, 6], 1), inp(&[3, 2, 4, 4], 2), inp(&[3], 3)], |x| x[0].conv2d(&x[1], Some(&x[2]), 2, 1)?.square(), EPS, RTOL, ATOL, "conv2d");
        check_second_order(dev, &[inp(&[1, 2, 5, 5], 1), inp(&[3, 2, 3, 3], 2)], |x| x[0].conv2d(&x[1], None, 1, 1), EPS, RTOL, ATOL, "conv2d (bilinear form)");
        check_second_order(dev, &[inp(&[2, 3, 3, 3], 1), inp(&[3, 2, 4, 4], 2), inp(&[2], 3)], |x| x[0].conv_transpose2d(&x[1], Some(&x[2]), 2, 1, 0)?.square(), EPS, RTOL, ATOL, "conv_transpose2d");
        check_second_order(dev, &[inp(&[1, 2, 3, 3], 1), inp(&[2, 2, 3, 3], 2)], |x| x[0].conv_transpose2d(&x[1], None, 2, 1, 1), EPS, RTOL, ATOL, "conv_transpose2d (bilinear form)");
        check_second_order(dev, &[inp(&[2, 2, 3, 4], 1)], |x| x[0].upsample_bilinear(7, 9)?.square(), EPS, RTOL, ATOL, "upsample_bilinear");
        check_second_order(dev, &[inp(&[2, 2, 6, 6], 1)], |x| x[0].avg_pool2d(2, 2)?.square(), EPS, RTOL, ATOL, "avg_pool2d");
    }

    fn grad_cam_soft_iou_gradient_matches_finite_differences(dev: &Device) {
        // A tiny encoder: conv(1->4, k3 s1 p1) -> leaky -> conv(4->3, k4 s2 p1) = A -> leaky ->
        // linear(48 -> 2) = z. For each latent dim i: alpha^i = GAP(dz_i/dA) (create_graph),
        // M^i = ReLU(sum_k alpha_k^i A_k); loss = mean over images of soft-IoU(M^0, M^1).
        let x = rand_t(&[2, 1, 8, 8], 1, dev);
        let w2 = t(values(3 * 4 * 16, 3, -0.5, 0.5), &[3, 4, 4, 4], dev);
        let wl = t(values(2 * 48, 4, -0.5, 0.5), &[2, 48], dev);
        let soft_iou = |w1: &Tensor, create: bool| -> Tensor {
            let h = x.conv2d(w1, None, 1, 1).unwrap().leaky_relu(0.1).unwrap();
            let a = h.conv2d(&w2, None, 2, 1).unwrap();
            let z = a.leaky_relu(0.1).unwrap().flatten(1).unwrap().linear(&wl, None).unwrap();
            let maps: Vec<Tensor> = (0..2)
                .map(|i| {
                    let zi = z.slice(1, i, 1).unwrap().sum_all().unwrap();
                    let da = grad(&[zi], std::slice::from_ref(&a), None, create).unwrap().remove(0);
                    let alpha = da.global_avg_pool().unwrap(); // [N, K, 1, 1]
                    a.mul(&alpha).unwrap().sum(&[1], true).unwrap().relu().unwrap()
                })
                .collect();
            let inter = maps[0].minimum(&maps[1]).unwrap().sum(&[1, 2, 3], false).unwrap();
            let union = maps[0].maximum(&maps[1]).unwrap().sum(&[1, 2, 3], false).unwrap().add_scalar(1e-6).unwrap();
            inter.div(&union).unwrap().mean_all().unwrap()
        };
        let w1_data = values(36, 2, -0.5, 0.5);
        let w1 = t(w1_data.clone(), &[4, 1, 3, 3], dev).requires_grad_();
        let loss = soft_iou(&w1, true);
        let l = loss.item().unwrap();
        assert!(l > 0.0 && l < 1.0, "soft IoU {l} should be strictly between 0 and 1");
        let g = grad(&[loss], &[w1], None, false).unwrap().remove(0).to_vec().unwrap();
        assert!(g.iter().any(|v| v.abs() > 1e-4), "the gradient through alpha must not vanish");
        let eps = 1e-3f32;
        let mut fd = Vec::new();
        for j in 0..36 {
            let eval = |d: f32| -> f64 {
                let mut w = w1_data.clone();
                w[j] += d;
                soft_iou(&t(w, &[4, 1, 3, 3], dev).requires_grad_(), false).item().unwrap() as f64
            };
            fd.push((eval(eps) - eval(-eps)) / (2.0 * eps as f64));
        }
        assert_close(&g, &fd, 3e-2, 2e-3, "d softIoU / d conv1.weight");
    }
}
