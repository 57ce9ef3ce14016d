//! Zero-padded copies of images for the direct convolution kernel (`conv_direct`).
//!
//! The direct kernel reads its input through offsets into a padded image, so that no tap
//! needs a bounds check. A padded copy of the whole batch costs two passes over memory (write
//! the copy, read it back) on top of the read of the source; for the 128 px texture VAE's
//! layers those copies are tens of megabytes, far past L2, and the memory traffic showed as 5%
//! of a training step. [`Window::pad`] instead pads just the rows one task reads (of one
//! image, or of the few small images a task takes) into a scratch buffer that stays in that
//! core's cache while the task's tiles read it.

use super::buffers;
use rayon::prelude::*;

/// The padded layout of one image of `c` planes `h x w`: row `r` of a padded plane is source
/// row `r - top` (zeros where that is outside the image), `wpad` columns with `left` zeros
/// before the source row and zeros after it.
#[derive(Clone, Copy, Debug)]
pub(super) struct PadSpec {
    /// Planes per image.
    pub c: usize,
    /// Source rows.
    pub h: usize,
    /// Source columns.
    pub w: usize,
    /// Zero rows above the source rows.
    pub top: usize,
    /// Zero columns left of the source columns.
    pub left: usize,
    /// Columns of a padded row (`left + w` and the zeros after).
    pub wpad: usize,
}

impl PadSpec {
    /// The input `x` of the convolution `g`, padded by its padding on every side.
    pub fn conv_input(g: &crate::geometry::Conv2dGeometry) -> Self {
        let (ph, pw) = g.padding;
        PadSpec {
            c: g.c_in,
            h: g.h,
            w: g.w,
            top: ph,
            left: pw,
            wpad: g.w + 2 * pw,
        }
    }

    /// Writes padded rows `[r0, r0 + rows)` of every plane of `src` (one image) into `dst`,
    /// plane `ci` starting at `ci * plane_rows * wpad` (rows past `rows` are left as they were).
    fn fill(&self, src: &[f32], r0: usize, rows: usize, plane_rows: usize, dst: &mut [f32]) {
        let (h, w, wpad, left) = (self.h, self.w, self.wpad, self.left);
        // The source rows this window holds, as window rows [j0, j1).
        let j0 = self.top.saturating_sub(r0).min(rows);
        let j1 = (self.top + h).saturating_sub(r0).clamp(j0, rows);
        for ci in 0..self.c {
            let plane = &mut dst[ci * plane_rows * wpad..][..rows * wpad];
            // One zero fill per plane, then one copy per row: the rows of small planes are a
            // few floats, and two border fills per row were two library calls each.
            plane.fill(0.0);
            for j in j0..j1 {
                let iy = r0 + j - self.top;
                plane[j * wpad + left..][..w].copy_from_slice(&src[(ci * h + iy) * w..][..w]);
            }
        }
    }
}

/// Zero-padded copies of all `n` images of `src`, planes of `hp` rows: the layout of
/// [`PadSpec`] for the whole image. Every element is written (the buffer comes from the pool
/// unfilled); hand it back with [`buffers::recycle`].
pub(super) fn pad_images(src: &[f32], n: usize, s: PadSpec, hp: usize) -> Vec<f32> {
    let img = s.c * hp * s.wpad;
    let mut xp = buffers::for_overwrite(n * img);
    xp.par_chunks_mut(img)
        .zip(src.par_chunks(s.c * s.h * s.w))
        .for_each(|(dst, src)| s.fill(src, 0, hp, hp, dst));
    xp
}

/// The padded rows one task reads: the rows of its pixels' bases (offsets into a padded
/// plane of `wpad` columns, each inside its row), widened by how far the taps reach above
/// (`up`) and below (`down`) a base's row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Window {
    /// First padded row.
    pub r0: usize,
    /// Rows from `r0`.
    pub rows: usize,
}

impl Window {
    /// The window of the pixels `bases` (non-empty, non-negative).
    pub fn of(bases: &[isize], wpad: usize, (up, down): (usize, usize)) -> Window {
        let (lo, hi) = bases
            .iter()
            .fold((isize::MAX, isize::MIN), |(l, h), &b| (l.min(b), h.max(b)));
        let (lo, hi) = (lo as usize / wpad, hi as usize / wpad);
        let r0 = lo.saturating_sub(up);
        Window {
            r0,
            rows: hi + down + 1 - r0,
        }
    }

    /// Pads this window of each of the first `images` images of `src` into one buffer:
    /// planes `plane_rows >= rows` rows apart, image after image (from the pool; hand it
    /// back with [`buffers::recycle`]).
    pub fn pad(self, src: &[f32], images: usize, s: PadSpec, plane_rows: usize) -> Vec<f32> {
        debug_assert!(
            self.rows <= plane_rows,
            "pad window: {self:?} > {plane_rows} rows"
        );
        let padded = s.c * plane_rows * s.wpad;
        let mut buf = buffers::for_overwrite(images * padded);
        for (j, dst) in buf.chunks_exact_mut(padded).enumerate() {
            s.fill(
                &src[j * s.c * s.h * s.w..],
                self.r0,
                self.rows,
                plane_rows,
                dst,
            );
        }
        buf
    }

    /// Appends a span's pixels for each of a task's `images` images (padded one after
    /// another by [`Window::pad`]): the bases moved into this window and shifted by
    /// `strides.0` floats per image, the output positions shifted by `strides.1` per image.
    pub fn stack(
        self,
        wpad: usize,
        (bases, positions): (&[isize], &[usize]),
        images: usize,
        strides: (usize, usize),
        (local, pos): (&mut Vec<isize>, &mut Vec<usize>),
    ) {
        for j in 0..images {
            let shift = (j * strides.0) as isize;
            local.extend(self.moved(wpad, bases).map(|b| b + shift));
            pos.extend(positions.iter().map(|&p| j * strides.1 + p));
        }
    }

    /// `bases` moved into the padded window (rows of `wpad` columns).
    pub fn moved(self, wpad: usize, bases: &[isize]) -> impl Iterator<Item = isize> + '_ {
        let shift = (self.r0 * wpad) as isize;
        bases.iter().map(move |&b| b - shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_padding_matches_the_whole_padded_image() {
        // 2 planes of 5 x 3, one zero row above and two columns left, padded to 7 x 6.
        let s = PadSpec {
            c: 2,
            h: 5,
            w: 3,
            top: 1,
            left: 2,
            wpad: 6,
        };
        let src: Vec<f32> = (1..=30).map(|v| v as f32).collect();
        let hp = 7;
        let whole = pad_images(&src, 1, s, hp);
        assert_eq!(whole[..6], [0.0; 6]);
        assert_eq!(whole[6..12], [0.0, 0.0, 1.0, 2.0, 3.0, 0.0]);
        assert_eq!(
            whole[hp * 6 + 6..hp * 6 + 12],
            [0.0, 0.0, 16.0, 17.0, 18.0, 0.0]
        );
        // Bases on rows 2 and 4 (columns 1 and 0), taps reaching one row up and two down.
        let bases = [2 * 6 + 1, 4 * 6];
        let win = Window::of(&bases, 6, (1, 2));
        assert_eq!(win, Window { r0: 1, rows: 6 });
        let buf = win.pad(&src, 1, s, 8);
        assert_eq!(win.moved(6, &bases).collect::<Vec<_>>(), [6 + 1, 3 * 6]);
        for ci in 0..2 {
            for j in 0..win.rows {
                assert_eq!(
                    buf[(ci * 8 + j) * 6..][..6],
                    whole[(ci * hp + win.r0 + j) * 6..][..6],
                    "plane {ci} row {j}"
                );
            }
        }
        // Rows past the source (and past the whole padded plane) read as zeros.
        let low = Window::of(&[6 * 6], 6, (0, 2));
        let buf = low.pad(&src, 1, s, 3);
        assert_eq!(buf[..6], whole[6 * 6..7 * 6]);
        assert!(buf[6..18].iter().all(|&v| v == 0.0));
    }
}
