//! Charts as inline SVG, drawn by plotters' SVG backend: the org's monthly active users as bars and a
//! sparkline per app. No text inside the SVG (its numbers are in the tables beside it, for screen readers
//! and printing), so nothing from Okta ever reaches the SVG.

use plotters::prelude::*;

/// Bars of `values` (oldest first), `width` × `height` pixels; None when there is nothing to draw or the
/// backend fails.
pub(crate) fn bars(values: &[u64], width: u32, height: u32) -> Option<String> {
    let max = values.iter().copied().max().filter(|&m| m > 0)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let n = values.len() as i32;
        let mut chart = ChartBuilder::on(&root).margin(4).build_cartesian_2d(0..n, 0..max).ok()?;
        let fill = RGBColor(0x1a, 0x5f, 0xb4).filled();
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let i = i as i32;
                let mut bar = Rectangle::new([(i, 0), (i + 1, v)], fill);
                bar.set_margin(0, 0, 3, 3);
                bar
            }))
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

/// A sparkline of `values` (oldest first); None with fewer than two points.
pub(crate) fn sparkline(values: &[u64]) -> Option<String> {
    if values.len() < 2 {
        return None;
    }
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (96, 20)).into_drawing_area();
        let n = values.len() as i32 - 1;
        let mut chart = ChartBuilder::on(&root).margin(2).build_cartesian_2d(0..n, 0..max).ok()?;
        let points = values.iter().enumerate().map(|(i, &v)| (i as i32, v));
        chart.draw_series(LineSeries::new(points, RGBColor(0x1a, 0x5f, 0xb4).stroke_width(2))).ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_without_text() {
        let b = bars(&[3, 0, 7], 300, 120).expect("bars");
        assert!(b.contains("<svg") && b.contains("<rect") && !b.contains("<text"), "{b}");
        assert!(bars(&[0, 0], 300, 120).is_none(), "nothing to draw");
        let s = sparkline(&[1, 4, 2]).expect("a line");
        assert!(s.contains("<polyline") || s.contains("<path"), "{s}");
        assert!(sparkline(&[5]).is_none());
    }
}
