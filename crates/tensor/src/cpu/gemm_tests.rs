//! Tests of the GEMM paths against a naive f64 reference, on every ISA path.
use super::*;

fn fill(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn naive(s: MatmulSpec, a: &[f32], b: &[f32], c: &mut [f32], acc: bool) {
    let MatmulSpec {
        m,
        n,
        k,
        trans_a: ta,
        trans_b: tb,
        ..
    } = s;
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f64;
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                s += av as f64 * bv as f64;
            }
            let base = if acc { c[i * n + j] as f64 } else { 0.0 };
            c[i * n + j] = (base + s) as f32;
        }
    }
}

fn close(got: &[f32], want: &[f32], k: usize) {
    assert_eq!(got.len(), want.len());
    let isa = crate::cpu::isa::active();
    let tol = 1e-5 * (k as f32 + 1.0).sqrt() * 4.0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "index {i} on {isa}: got {g}, want {w}"
        );
    }
}

/// Runs `f` once on every ISA path this CPU supports.
fn on_every_isa(f: impl Fn()) {
    for isa in crate::cpu::isa::available() {
        crate::cpu::isa::with_isa(isa, &f).unwrap();
    }
}

#[test]
fn sgemm_matches_naive_on_awkward_shapes() {
    on_every_isa(sgemm_awkward_shapes_on_active_path);
}

fn sgemm_awkward_shapes_on_active_path() {
    let dims = [1usize, 3, 17, 64, 129];
    let mut seed = 1;
    for &m in &dims {
        for &n in &dims {
            for &k in &dims {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    for acc in [false, true] {
                        seed += 1;
                        let a = fill(m * k, seed);
                        let b = fill(k * n, seed + 1000);
                        let c0 = if acc {
                            fill(m * n, seed + 2000)
                        } else {
                            vec![f32::NAN; m * n]
                        };
                        let mut got = c0.clone();
                        let mut want = c0.clone();
                        sgemm(MatmulSpec::single(m, n, k, ta, tb), &a, &b, &mut got, acc);
                        naive(MatmulSpec::single(m, n, k, ta, tb), &a, &b, &mut want, acc);
                        close(&got, &want, k);
                    }
                }
            }
        }
    }
}

#[test]
fn sgemm_large_parallel() {
    on_every_isa(sgemm_large_parallel_on_active_path);
}

fn sgemm_large_parallel_on_active_path() {
    // A split by columns over several row and k blocks (MC and KC of the SIMD paths),
    // overwriting and accumulating, with either operand transposed.
    let (m, n, k) = (250, 300, 600);
    for (ta, tb) in [(false, false), (true, false), (false, true)] {
        let s = MatmulSpec::single(m, n, k, ta, tb);
        let (a, b) = (fill(m * k, 11), fill(k * n, 12));
        for acc in [false, true] {
            let mut got = fill(m * n, 13);
            let mut want = got.clone();
            sgemm(s, &a, &b, &mut got, acc);
            naive(s, &a, &b, &mut want, acc);
            close(&got, &want, k);
        }
    }
    let (m, n, k) = (300, 257, 190);
    for (ta, tb) in [(false, false), (true, true)] {
        let a = fill(m * k, 7);
        let b = fill(k * n, 8);
        let mut got = vec![0.0; m * n];
        let mut want = vec![0.0; m * n];
        sgemm(MatmulSpec::single(m, n, k, ta, tb), &a, &b, &mut got, false);
        naive(
            MatmulSpec::single(m, n, k, ta, tb),
            &a,
            &b,
            &mut want,
            false,
        );
        close(&got, &want, k);
        // A wide C is split by columns instead of rows.
        let (m2, n2) = (30, n * 10);
        let b2 = fill(k * n2, 9);
        let mut got = vec![0.0; m2 * n2];
        let mut want = vec![0.0; m2 * n2];
        sgemm(
            MatmulSpec::single(m2, n2, k, ta, tb),
            &a[..m2 * k],
            &b2,
            &mut got,
            false,
        );
        naive(
            MatmulSpec::single(m2, n2, k, ta, tb),
            &a[..m2 * k],
            &b2,
            &mut want,
            false,
        );
        close(&got, &want, k);
    }
}

#[test]
fn every_isa_path_matches_naive_on_tile_edges() {
    on_every_isa(tile_edges_on_active_path);
}

fn tile_edges_on_active_path() {
    // Around the 6x16, 4x24, 8x48 and 14x32 tiles and the KC = 256 block.
    for (m, n, k) in [
        (17, 3, 129),
        (64, 129, 17),
        (200, 300, 100),
        (6, 16, 8),
        (7, 25, 257),
        (5, 47, 9),
        (13, 49, 300),
        // The 4x24 tile (its k loop is assembly): exact and ragged tiles over several KC blocks.
        (8, 24, 300),
        (4, 23, 513),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, b, c0) = (fill(m * k, 21), fill(k * n, 22), fill(m * n, 23));
            for acc in [false, true] {
                let (mut got, mut want) = (c0.clone(), c0.clone());
                sgemm(MatmulSpec::single(m, n, k, ta, tb), &a, &b, &mut got, acc);
                naive(MatmulSpec::single(m, n, k, ta, tb), &a, &b, &mut want, acc);
                close(&got, &want, k);
            }
        }
    }
}

#[test]
fn sgemm_zero_k_overwrites_or_keeps() {
    let mut c = vec![5.0; 6];
    sgemm(
        MatmulSpec::single(2, 3, 0, false, false),
        &[],
        &[],
        &mut c,
        true,
    );
    assert_eq!(c, vec![5.0; 6]);
    sgemm(
        MatmulSpec::single(2, 3, 0, false, false),
        &[],
        &[],
        &mut c,
        false,
    );
    assert_eq!(c, vec![0.0; 6]);
}

#[test]
fn dot_nt_matches_naive_on_every_isa() {
    on_every_isa(|| {
        for (m, n, len) in [(1, 1, 1), (5, 3, 7), (4, 2, 8), (9, 5, 33), (3, 7, 100)] {
            let (lda, ldb) = (len + 3, len + 1);
            let a = fill((m - 1) * lda + len, 31);
            let b = fill((n - 1) * ldb + len, 32);
            let c0 = fill(m * n, 33);
            let mut got = c0.clone();
            let shape = DotShape {
                m,
                n,
                len,
                lda,
                ldb,
            };
            dot_nt(shape, &a, &b, &mut got);
            let want: Vec<f32> = (0..m * n)
                .map(|ij| {
                    let (i, j) = (ij / n, ij % n);
                    let d: f64 = (0..len)
                        .map(|p| a[i * lda + p] as f64 * b[j * ldb + p] as f64)
                        .sum();
                    (c0[ij] as f64 + d) as f32
                })
                .collect();
            close(&got, &want, len);
        }
    });
}

#[test]
fn batched_with_broadcasts() {
    for &(batch, m, n, k) in &[
        (1, 3, 17, 5),
        (4, 17, 3, 64),
        (5, 64, 65, 33),
        (3, 129, 1, 17),
    ] {
        for ta in [false, true] {
            for tb in [false, true] {
                for (ba, bb) in [(false, false), (true, false), (false, true), (true, true)] {
                    for acc in [false, true] {
                        let na = if ba { 1 } else { batch };
                        let nb = if bb { 1 } else { batch };
                        let a = fill(na * m * k, 11);
                        let b = fill(nb * k * n, 12);
                        let c0 = if acc {
                            fill(batch * m * n, 13)
                        } else {
                            vec![f32::NAN; batch * m * n]
                        };
                        let mut got = c0.clone();
                        let spec = MatmulSpec {
                            batch,
                            m,
                            n,
                            k,
                            trans_a: ta,
                            trans_b: tb,
                            broadcast_a: ba,
                            broadcast_b: bb,
                        };
                        sgemm(spec, &a, &b, &mut got, acc);
                        let mut want = c0.clone();
                        for i in 0..batch {
                            let ai = if ba { 0 } else { i };
                            let bi = if bb { 0 } else { i };
                            naive(
                                MatmulSpec::single(m, n, k, ta, tb),
                                &a[ai * m * k..(ai + 1) * m * k],
                                &b[bi * k * n..(bi + 1) * k * n],
                                &mut want[i * m * n..(i + 1) * m * n],
                                acc,
                            );
                        }
                        close(&got, &want, k);
                    }
                }
            }
        }
    }
}
