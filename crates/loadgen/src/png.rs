//! Minimal line charts as PNG: axes with their titles and a value at each
//! quarter, a light grid, one coloured polyline per series and a legend
//! naming them. Enough for the benchmark's graphs without a plotting crate;
//! the letters come from `font8x8` (a public-domain 8x8 bitmap font),
//! drawn at twice its size.

use std::io::Write as _;

const COLOURS: [[u8; 3]; 4] = [
    [0x1f, 0x77, 0xb4],
    [0xd6, 0x27, 0x28],
    [0x2c, 0xa0, 0x2c],
    [0xff, 0x7f, 0x0e],
];
/// Room for the values left of the plot, and the values and the
/// horizontal axis's title below it (above it go the legend, as many lines
/// as it takes, and the vertical axis's title).
const LEFT: usize = 112;
const RIGHT: usize = 24;
const BOTTOM: usize = 64;
/// Each font pixel is drawn as a square this many pixels wide.
const SCALE: i64 = 2;
const INK: [u8; 3] = [0x22; 3];

struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![0xff; width * height * 3],
        }
    }

    fn dot(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if x < 0 || y < 0 {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        if x >= self.width || y >= self.height {
            return;
        }
        let at = (y * self.width + x) * 3;
        if let Some(pixel) = self.pixels.get_mut(at..at + 3) {
            pixel.copy_from_slice(&colour);
        }
    }

    /// `text` with its top left corner at `(x, y)`; characters the font
    /// lacks are left blank.
    fn text(&mut self, x: i64, y: i64, text: &str, colour: [u8; 3]) {
        use font8x8::UnicodeFonts as _;
        for (i, c) in text.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS.get(c).unwrap_or([0; 8]);
            let left = x + i as i64 * 8 * SCALE;
            for (row, bits) in glyph.iter().enumerate() {
                for column in 0..8 {
                    if bits >> column & 1 == 1 {
                        for (dx, dy) in (0..SCALE).flat_map(|dx| (0..SCALE).map(move |dy| (dx, dy)))
                        {
                            self.dot(
                                left + column * SCALE + dx,
                                y + row as i64 * SCALE + dy,
                                colour,
                            );
                        }
                    }
                }
            }
        }
    }

    /// A line two pixels wide (Bresenham).
    fn line(&mut self, from: (i64, i64), to: (i64, i64), colour: [u8; 3]) {
        let (mut x, mut y) = from;
        let (dx, dy) = ((to.0 - x).abs(), -(to.1 - y).abs());
        let (sx, sy) = (if x < to.0 { 1 } else { -1 }, if y < to.1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.dot(x, y, colour);
            self.dot(x + 1, y, colour);
            self.dot(x, y + 1, colour);
            if x == to.0 && y == to.1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity((self.width * 3 + 1) * self.height);
        for row in self.pixels.chunks(self.width * 3) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail; an empty image data chunk if it did.
        let compressed: Vec<u8> = zlib
            .write_all(&raw)
            .and_then(|()| zlib.finish())
            .unwrap_or_default();
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = Vec::new();
        header.extend_from_slice(&u32::try_from(self.width).unwrap_or(0).to_be_bytes());
        header.extend_from_slice(&u32::try_from(self.height).unwrap_or(0).to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
        chunk(&mut out, b"IHDR", &header);
        chunk(&mut out, b"IDAT", &compressed);
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// The upper end of an axis: `max` rounded up to 1, 2 or 5 times a power
/// of ten, so that the grid's quarters fall on readable values.
pub fn axis_max(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 4.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&m| m >= max)
        .unwrap_or(10.0 * power)
}

/// A value at a grid line: as short as it can be and still exact for
/// the round values [`axis_max`] gives ("20000", "2.5", "0.25").
pub fn tick(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Where each legend entry (a swatch, then its name) starts: left to
/// right, on as many lines as a `width`-pixel image takes, so that no
/// entry runs off it (one too long for any line starts a line of its own).
fn legend_places(names: &[&str], width: i64) -> Vec<(i64, i64)> {
    let glyph = 8 * SCALE;
    let (mut x, mut y) = (4, 4);
    let mut places = Vec::new();
    for name in names {
        let entry = glyph + 4 + name.chars().count() as i64 * glyph;
        if x > 4 && x + entry > width {
            (x, y) = (4, y + glyph + 6);
        }
        places.push((x, y));
        x += entry + 3 * glyph;
    }
    places
}

/// What a chart shows: its series (points and names) and its axes' titles.
pub struct Chart<'a> {
    /// Each series' (x, y) points and its name for the legend.
    pub series: &'a [(String, Vec<(f64, f64)>)],
    /// The horizontal axis's title.
    pub x: &'a str,
    /// The vertical axis's title.
    pub y: &'a str,
}

/// Draws `chart` from 0 to [`axis_max`] of the largest x and y, with a
/// grid line and its value every quarter; PNG bytes.
pub fn line_chart(chart: &Chart<'_>, width: usize, height: usize) -> Vec<u8> {
    let points = chart.series.iter().flat_map(|(_, points)| points);
    let x_max = axis_max(points.clone().map(|p| p.0).fold(0.0, f64::max));
    let y_max = axis_max(points.map(|p| p.1).fold(0.0, f64::max));
    let mut canvas = Canvas::new(width, height);
    let glyph = 8 * SCALE;
    let width_of = |text: &str| text.chars().count() as i64 * glyph;
    let names: Vec<&str> = chart.series.iter().map(|(name, _)| name.as_str()).collect();
    let places = legend_places(&names, width as i64);
    let legend_y = places.last().map_or(4, |&(_, y)| y);
    let y_title = legend_y + glyph + 12;
    let (left, bottom) = (LEFT as i64, (height - BOTTOM) as i64);
    let (right, top) = ((width - RIGHT) as i64, y_title + glyph + 12);
    for q in 0..=4 {
        let x = left + (right - left) * q / 4;
        let y = bottom - (bottom - top) * q / 4;
        let grey = if q == 0 { [0x33; 3] } else { [0xdd; 3] };
        canvas.line((x, top), (x, bottom), grey);
        canvas.line((left, y), (right, y), grey);
        let below = tick(x_max * q as f64 / 4.0);
        let below_x = (x - width_of(&below) / 2).min(right - width_of(&below));
        canvas.text(below_x, bottom + 6, &below, INK);
        let beside = tick(y_max * q as f64 / 4.0);
        canvas.text(left - 6 - width_of(&beside), y - glyph / 2, &beside, INK);
    }
    canvas.text(
        (left + right - width_of(chart.x)) / 2,
        bottom + 8 + glyph + 8,
        chart.x,
        INK,
    );
    for (i, (&(x, y), name)) in places.iter().zip(&names).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        for dy in 0..glyph / 2 {
            let line = y + glyph / 4 + dy;
            canvas.line((x, line), (x + glyph - 4, line), colour);
        }
        canvas.text(x + glyph + 4, y, name, colour);
    }
    canvas.text(4, y_title, chart.y, INK);
    let at = |(x, y): (f64, f64)| -> (i64, i64) {
        (
            left + ((right - left) as f64 * (x / x_max)).round() as i64,
            bottom - ((bottom - top) as f64 * (y / y_max)).round() as i64,
        )
    };
    for (i, (_, line)) in chart.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        for pair in line.windows(2) {
            canvas.line(at(pair[0]), at(pair[1]), colour);
        }
        if let [only] = line.as_slice() {
            let p = at(*only);
            canvas.line(p, p, colour);
        }
    }
    canvas.png()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_values() {
        assert_eq!(axis_max(0.0), 1.0);
        assert_eq!(axis_max(f64::NAN), 1.0);
        assert_eq!(axis_max(186.9), 200.0);
        assert_eq!(axis_max(17_000.0), 20_000.0);
        assert_eq!(axis_max(894.5), 1000.0);
        assert_eq!(axis_max(0.99), 1.0);
        assert_eq!(axis_max(3.1), 4.0);
    }

    #[test]
    fn grid_values_are_short_and_exact() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(20_000.0), "20000");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.125), "0.125");
    }

    /// The letters are drawn: a canvas with text has ink where a blank one
    /// has none, in the text's colour.
    #[test]
    fn text_leaves_ink() {
        let mut canvas = Canvas::new(64, 32);
        canvas.text(0, 0, "A1", [1, 2, 3]);
        let inked = canvas.pixels.chunks(3).filter(|p| p == &[1, 2, 3]).count();
        assert!(inked > 20, "{inked}");
    }

    /// Names too long to share a line go on the next; short ones share
    /// one; every entry ends inside the image.
    #[test]
    fn a_long_legend_wraps_instead_of_running_off() {
        let long = "x".repeat(30);
        let places = legend_places(&[&long, &long, &long], 800);
        assert_eq!(places, [(4, 4), (4, 26), (4, 48)]);
        let short = legend_places(&["at 1000 msg/s", "max, 32 in flight"], 800);
        assert_eq!(short.iter().map(|p| p.1).collect::<Vec<_>>(), [4, 4]);
        let last = short[1].0 + 16 + 4 + 17 * 16;
        assert!(last <= 800, "{last}");
    }

    #[test]
    fn charts_are_png_files_with_checked_chunks() {
        let series = [
            ("one".to_string(), vec![(0.0, 0.0), (10.0, 5.0)]),
            ("none".to_string(), vec![]),
        ];
        let chart = Chart {
            series: &series,
            x: "x",
            y: "y",
        };
        let image = line_chart(&chart, 320, 240);
        assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
        // IHDR: 13 bytes of data, width and height as given, 8-bit RGB.
        assert_eq!(&image[8..16], b"\x00\x00\x00\x0dIHDR");
        assert_eq!(&image[16..24], &[0, 0, 1, 64, 0, 0, 0, 240]);
        assert_eq!(&image[24..26], &[8, 2]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&image[12..29]);
        assert_eq!(&image[29..33], &crc.finalize().to_be_bytes());
        assert!(image.ends_with(b"IEND\xae\x42\x60\x82"));
    }
}
