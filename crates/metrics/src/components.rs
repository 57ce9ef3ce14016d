//! Connected components of a binary mask with 8-connectivity (diagonal neighbours join).

/// The connected components of one mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Components {
    /// Per pixel (row-major): 0 for background, `k` (1-based) for the `k`-th component.
    pub labels: Vec<u32>,
    /// `sizes[k - 1]` is the number of pixels of component `k`.
    pub sizes: Vec<u64>,
}

impl Components {
    /// Number of components.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }
}

/// Labels the connected components of `mask` (`width * height` values, row-major; any
/// non-zero value is foreground) with 8-connectivity. Components are numbered in the order
/// of their first pixel in row-major order.
///
/// # Panics
/// If `mask.len() != width * height` (callers check this and report a
/// [`crate::MetricsError::LengthMismatch`]).
pub fn label_components(mask: &[u8], width: usize, height: usize) -> Components {
    assert_eq!(mask.len(), width * height, "mask of {width}x{height}");
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if mask[start] == 0 || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32 + 1;
        labels[start] = label;
        stack.push(start);
        let mut size = 0u64;
        while let Some(i) = stack.pop() {
            size += 1;
            let (r, c) = (i / width, i % width);
            for dr in [-1isize, 0, 1] {
                for dc in [-1isize, 0, 1] {
                    let (nr, nc) = (r as isize + dr, c as isize + dc);
                    if nr < 0 || nc < 0 || nr >= height as isize || nc >= width as isize {
                        continue;
                    }
                    let j = nr as usize * width + nc as usize;
                    if mask[j] != 0 && labels[j] == 0 {
                        labels[j] = label;
                        stack.push(j);
                    }
                }
            }
        }
        sizes.push(size);
    }
    Components { labels, sizes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let w = rows[0].len();
        let m = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| u8::from(b == b'#') * 255))
            .collect();
        (m, w, rows.len())
    }

    #[test]
    fn diagonal_pixels_join() {
        let (m, w, h) = parse(&["#...", ".#..", "..#.", "...."]);
        let c = label_components(&m, w, h);
        assert_eq!(c.sizes, vec![3]);
    }

    #[test]
    fn separate_regions_and_sizes() {
        let (m, w, h) = parse(&["##..#", "##..#", ".....", "..#.#", "....#"]);
        let c = label_components(&m, w, h);
        assert_eq!(c.sizes, vec![4, 2, 1, 2]);
        assert_eq!(c.labels[0], 1);
        assert_eq!(c.labels[4], 2);
        assert_eq!(c.labels[3 * 5 + 2], 3);
        assert_eq!(c.labels[4 * 5 + 4], 4);
        assert_eq!(c.labels[2 * 5], 0);
    }

    #[test]
    fn u_shape_is_one_region_and_empty_mask_none() {
        let (m, w, h) = parse(&["#.#", "#.#", "###"]);
        assert_eq!(label_components(&m, w, h).sizes, vec![7]);
        let c = label_components(&[0; 6], 3, 2);
        assert_eq!(c.count(), 0);
        assert!(c.labels.iter().all(|&l| l == 0));
    }
}
