//! `report.html`: one self-contained page per run (inline CSS and JavaScript, pictures as
//! data URIs; it opens from disk with no server and no network): the per-category table
//! with per-defect pixel AUROC, ROC curves, and every test image with its maps side by side,
//! filterable by defect type and sortable by score.

use crate::pipelines::localize::{MethodResult, METHODS};

/// One test image of the report.
pub struct HtmlImage {
    /// Its name (`DEFECT_STEM`).
    pub name: String,
    /// Its defect type (`good` for normal images).
    pub defect: String,
    /// Image score per method (METHODS order).
    pub scores: Vec<f32>,
    /// The picture (PNG bytes): image, ground truth, reconstruction, maps, predicted mask.
    pub png: Vec<u8>,
}

/// One category of the report.
pub struct HtmlCategory {
    /// Category name.
    pub name: String,
    /// The headline layer.
    pub layer: String,
    /// R^2 of the reconstructions of good test images.
    pub r_squared: f64,
    /// The headline layer's results per method.
    pub methods: Vec<MethodResult>,
    /// Every test image.
    pub images: Vec<HtmlImage>,
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const COLORS: [&str; 3] = ["#d62728", "#1f77b4", "#2ca02c"];

fn roc_svg(methods: &[MethodResult]) -> String {
    let (w, h, m) = (320.0, 320.0, 36.0);
    let mut s = format!(
        "<svg class=\"roc\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\"><rect x=\"{m}\" y=\"4\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/><line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"4\" stroke=\"#ccc\" stroke-dasharray=\"4\"/>",
        w - m - 4.0,
        h - m - 4.0,
        h - m,
        w - 4.0
    );
    for (i, r) in methods.iter().enumerate() {
        let pts: Vec<String> = r
            .all
            .roc
            .fpr
            .iter()
            .zip(&r.all.roc.tpr)
            .map(|(x, y)| {
                format!(
                    "{:.1},{:.1}",
                    m + x * (w - m - 4.0),
                    4.0 + (1.0 - y) * (h - m - 4.0)
                )
            })
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{} {:.3}</text>",
            COLORS[i % 3],
            pts.join(" "),
            m + 110.0,
            h - m - 10.0 - 14.0 * (methods.len() - 1 - i) as f64,
            COLORS[i % 3],
            r.method,
            r.all.pixel_auroc
        ));
    }
    s.push_str(&format!("<text x=\"{}\" y=\"{}\" font-size=\"11\">false-positive rate (pixels)</text><text x=\"10\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 10 {})\">true-positive rate</text></svg>", m + 60.0, h - 10.0, h / 2.0 + 40.0, h / 2.0 + 40.0));
    s
}

fn f3(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

/// The whole page.
pub fn render(title: &str, settings: &str, cats: &[&HtmlCategory]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    h.push_str(&escape(title));
    h.push_str("</title><style>body{font-family:sans-serif;margin:16px;color:#222}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.cat{margin-bottom:32px}.gallery{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;padding:4px;font-size:12px}.card img{display:block;image-rendering:pixelated}.controls{margin:8px 0}.note{color:#666;font-size:13px}</style></head><body>");
    h.push_str(&format!(
        "<h1>{}</h1><p class=\"note\">{}</p>",
        escape(title),
        escape(settings)
    ));
    // Summary table over categories.
    h.push_str("<h2>Summary</h2><table id=\"summary\"><tr><th>category</th><th>layer</th><th>R&sup2; (good test)</th>");
    for m in METHODS {
        h.push_str(&format!("<th>pixel AUROC {m}</th>"));
    }
    for m in METHODS {
        h.push_str(&format!("<th>AUPRO@0.3 {m}</th>"));
    }
    for m in METHODS {
        h.push_str(&format!("<th>image AUROC {m}</th>"));
    }
    h.push_str("</tr>");
    for c in cats {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td>",
            escape(&c.name),
            escape(&c.layer),
            c.r_squared
        ));
        for m in &c.methods {
            h.push_str(&format!("<td>{:.3}</td>", m.all.pixel_auroc));
        }
        for m in &c.methods {
            h.push_str(&format!("<td>{:.3}</td>", m.all.aupro));
        }
        for m in &c.methods {
            h.push_str(&format!("<td>{}</td>", f3(m.all.image_auroc)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for (ci, c) in cats.iter().enumerate() {
        h.push_str(&format!(
            "<div class=\"cat\" id=\"cat-{ci}\"><h2>{}</h2>",
            escape(&c.name)
        ));
        // Per-defect pixel AUROC.
        h.push_str("<table class=\"defects\"><tr><th>defect type</th>");
        for m in METHODS {
            h.push_str(&format!("<th>pixel AUROC {m}</th>"));
        }
        h.push_str("</tr>");
        let types: Vec<&String> = c
            .methods
            .first()
            .map(|m| m.per_defect.iter().map(|d| &d.0).collect())
            .unwrap_or_default();
        for (ti, t) in types.iter().enumerate() {
            h.push_str(&format!("<tr><td>{}</td>", escape(t)));
            for m in &c.methods {
                h.push_str(&format!(
                    "<td>{}</td>",
                    f3(m.per_defect[ti].1.as_ref().map(|r| r.pixel_auroc))
                ));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
        h.push_str(&roc_svg(&c.methods));
        // Gallery controls.
        let mut defects: Vec<&str> = c.images.iter().map(|i| i.defect.as_str()).collect();
        defects.sort();
        defects.dedup();
        h.push_str(&format!("<div class=\"controls\">defect type <select class=\"filter\" data-cat=\"{ci}\"><option value=\"\">all</option>"));
        for d in &defects {
            h.push_str(&format!("<option>{}</option>", escape(d)));
        }
        h.push_str(&format!("</select> sort by <select class=\"sort\" data-cat=\"{ci}\"><option value=\"file\">file</option>"));
        for (mi, m) in METHODS.iter().enumerate() {
            h.push_str(&format!(
                "<option value=\"{mi}\">{m} score (high first)</option>"
            ));
        }
        h.push_str(&format!("</select> <span class=\"count\" id=\"count-{ci}\"></span></div><div class=\"gallery\" id=\"gallery-{ci}\">"));
        for (ii, img) in c.images.iter().enumerate() {
            let scores: Vec<String> = img.scores.iter().map(|s| format!("{s}")).collect();
            h.push_str(&format!(
                "<div class=\"card\" data-defect=\"{}\" data-order=\"{ii}\" data-scores=\"{}\"><div>{} &middot; {}</div><img alt=\"{}\" src=\"data:image/png;base64,{}\"></div>",
                escape(&img.defect),
                scores.join(" "),
                escape(&img.name),
                img.scores
                    .iter()
                    .zip(METHODS)
                    .map(|(s, m)| format!("{m} {s:.3}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                escape(&img.name),
                base64(&img.png)
            ));
        }
        h.push_str("</div></div>");
    }
    h.push_str(r#"<script>
function update(ci){
  var g=document.getElementById('gallery-'+ci);
  var f=document.querySelector('.filter[data-cat="'+ci+'"]').value;
  var s=document.querySelector('.sort[data-cat="'+ci+'"]').value;
  var cards=Array.prototype.slice.call(g.children);
  cards.sort(function(a,b){
    if(s==='file'){return a.dataset.order-b.dataset.order;}
    return parseFloat(b.dataset.scores.split(' ')[s])-parseFloat(a.dataset.scores.split(' ')[s]);
  });
  var shown=0;
  cards.forEach(function(c){g.appendChild(c);var on=!f||c.dataset.defect===f;c.style.display=on?'':'none';if(on)shown++;});
  document.getElementById('count-'+ci).textContent=shown+' of '+cards.length+' images';
}
document.querySelectorAll('.filter,.sort').forEach(function(e){e.addEventListener('change',function(){update(e.dataset.cat);});update(e.dataset.cat);});
</script></body></html>
"#);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
