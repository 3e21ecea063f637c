//! Photos: location data removed before encryption, and a small preview
//! made on the device to travel inside the encrypted message.
//!
//! A JPEG's metadata sits in segments before its image data. The Exif and
//! XMP segments (where a phone writes GPS coordinates) are dropped and
//! replaced by a minimal Exif segment carrying only the orientation, so the
//! photo is still shown the right way up. The image data itself is not
//! touched or re-encoded: the cleaned file is the new head plus a slice of
//! the original, so a large photo is never copied whole.

use js_sys::Array;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap};

use super::read;

/// How much of a JPEG is read to find its metadata segments (each is at
/// most 64 KiB; a phone writes a handful).
const HEAD_BYTES: u64 = 512 * 1024;

/// The longest side of a preview, in pixels.
const THUMBNAIL_SIDE: f64 = 320.0;

/// A JPEG's head rewritten without location-bearing metadata.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CleanHead {
    /// The new bytes up to the image data.
    pub head: Vec<u8>,
    /// Where the original continues (its start-of-scan marker).
    pub resume_at: usize,
    /// Whether an Exif or XMP segment was dropped.
    pub removed: bool,
}

/// Rewrites a JPEG's head (`head` must reach its start-of-scan marker);
/// `None` when it is not a JPEG this understands, or the head is too short.
pub(crate) fn clean_jpeg_head(head: &[u8]) -> Option<CleanHead> {
    if head.get(0..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut kept = Vec::new();
    let mut removed = false;
    let mut orientation = None;
    let mut pos = 2;
    loop {
        let marker = head.get(pos..pos + 2)?;
        if marker[0] != 0xFF {
            return None;
        }
        if marker[1] == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([
            *head.get(pos + 2)?,
            *head.get(pos + 3)?,
        ]));
        if len < 2 {
            return None;
        }
        let segment = head.get(pos..pos + 2 + len)?;
        let body = &segment[4..];
        let exif = marker[1] == 0xE1 && body.starts_with(b"Exif\0\0");
        let xmp = marker[1] == 0xE1 && body.starts_with(b"http://ns.adobe.com/xap/1.0/\0");
        if exif {
            orientation = orientation.or_else(|| exif_orientation(&body[6..]));
        }
        if exif || xmp {
            removed = true;
        } else {
            kept.extend_from_slice(segment);
        }
        pos += 2 + len;
    }
    let mut out = vec![0xFF, 0xD8];
    if let Some(value) = orientation.filter(|o| (2..=8).contains(o)) {
        out.extend_from_slice(&orientation_segment(value));
    }
    out.extend(kept);
    Some(CleanHead {
        head: out,
        resume_at: pos,
        removed,
    })
}

/// The Orientation tag (0x0112) of a TIFF structure's first IFD.
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let big = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b = [*tiff.get(at)?, *tiff.get(at + 1)?];
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    (0..count.min(512)).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        (u16_at(entry)? == 0x0112)
            .then(|| u16_at(entry + 8))
            .flatten()
    })
}

/// An APP1 segment whose Exif holds only an orientation.
fn orientation_segment(value: u16) -> Vec<u8> {
    let mut segment = vec![0xFF, 0xE1, 0x00, 34];
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(b"MM\0\x2A\0\0\0\x08");
    segment.extend_from_slice(&[0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
    segment.extend_from_slice(&value.to_be_bytes());
    segment.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    segment
}

/// A JPEG file without its location metadata: the cleaned file and whether
/// anything was removed; `None` when its head could not be understood.
pub(crate) async fn without_location(file: &Blob, size: u64) -> Option<(Blob, u64, bool)> {
    let head = read::slice(file, 0, size.min(HEAD_BYTES)).await.ok()?;
    let clean = clean_jpeg_head(&head)?;
    let rest = file.slice_with_f64(clean.resume_at as f64).ok()?;
    let parts = Array::new();
    parts.push(&js_sys::Uint8Array::from(clean.head.as_slice()));
    parts.push(&rest);
    let options = BlobPropertyBag::new();
    options.set_type("image/jpeg");
    let cleaned = Blob::new_with_blob_sequence_and_options(&parts, &options).ok()?;
    let cleaned_size = cleaned.size() as u64;
    Some((cleaned, cleaned_size, clean.removed))
}

/// A JPEG preview at most 320 px on its longest side, drawn on a canvas
/// (which keeps no metadata); `None` when the browser cannot decode it.
pub(crate) async fn thumbnail(file: &Blob) -> Option<Vec<u8>> {
    let window = web_sys::window()?;
    let bitmap: ImageBitmap = JsFuture::from(window.create_image_bitmap_with_blob(file).ok()?)
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    let (width, height) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    let scale = (THUMBNAIL_SIDE / width.max(height)).min(1.0);
    let (w, h) = (
        (width * scale).round().max(1.0),
        (height * scale).round().max(1.0),
    );
    let canvas: HtmlCanvasElement = window
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let context: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    context
        .draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, w, h)
        .ok()?;
    bitmap.close();
    let url = canvas
        .to_data_url_with_type_and_encoder_options("image/jpeg", &JsValue::from_f64(0.7))
        .ok()?;
    let encoded = url.split_once(',')?.1;
    let binary = window.atob(encoded).ok()?;
    Some(binary.chars().map(|c| c as u8).collect())
}

/// A `data:` URL for a preview's bytes (shown in an `<img>`).
pub(crate) fn data_url(jpeg: &[u8]) -> Option<String> {
    let binary: String = jpeg.iter().map(|&b| char::from(b)).collect();
    let encoded = web_sys::window()?.btoa(&binary).ok()?;
    Some(format!("data:image/jpeg;base64,{encoded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len() + 2).unwrap().to_be_bytes();
        let mut s = vec![0xFF, marker, len[0], len[1]];
        s.extend_from_slice(body);
        s
    }

    /// Exif with an orientation (6) and a GPS IFD pointer with coordinates.
    fn exif_with_gps() -> Vec<u8> {
        let mut body = b"Exif\0\0II\x2A\0\x08\0\0\0".to_vec();
        body.extend_from_slice(&[2, 0]); // two entries
        body.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        body.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(b"GPS 40.7128N 74.0060W");
        body
    }

    fn jpeg(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut file = vec![0xFF, 0xD8];
        for s in segments {
            file.extend_from_slice(s);
        }
        file.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0xAA, 0xBB, 0xFF, 0xD9]);
        file
    }

    #[test]
    fn exif_and_xmp_go_the_orientation_stays_and_the_image_data_is_untouched() {
        let jfif = segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let xmp = segment(
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPSLatitude</x:xmpmeta>",
        );
        let table = segment(0xDB, &[0u8; 65]);
        let file = jpeg(&[
            jfif.clone(),
            segment(0xE1, &exif_with_gps()),
            xmp,
            table.clone(),
        ]);
        let clean = clean_jpeg_head(&file).unwrap();
        assert!(clean.removed);
        let mut cleaned = clean.head.clone();
        cleaned.extend_from_slice(&file[clean.resume_at..]);
        let text = String::from_utf8_lossy(&cleaned);
        assert!(!text.contains("GPS"), "no location left");
        assert!(cleaned.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 0xAA, 0xBB, 0xFF, 0xD9]));
        assert!(cleaned.windows(jfif.len()).any(|w| w == jfif.as_slice()));
        assert!(cleaned.windows(table.len()).any(|w| w == table.as_slice()));
        // The orientation survives, in an Exif that parses.
        let again = clean_jpeg_head(&cleaned).unwrap();
        assert_eq!(exif_orientation(&orientation_segment(6)[10..]), Some(6));
        assert_eq!(
            again.head, clean.head,
            "cleaning twice changes nothing more"
        );
    }

    #[test]
    fn a_photo_without_metadata_is_unchanged_and_garbage_is_not_a_jpeg() {
        let file = jpeg(&[segment(0xDB, &[1u8; 10])]);
        let clean = clean_jpeg_head(&file).unwrap();
        assert!(!clean.removed);
        assert_eq!(
            [clean.head.as_slice(), &file[clean.resume_at..]].concat(),
            file
        );
        assert_eq!(clean_jpeg_head(b"%PDF-1.7"), None);
        assert_eq!(
            clean_jpeg_head(&file[..6]),
            None,
            "too short to reach the image data"
        );
        assert_eq!(clean_jpeg_head(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01]), None);
    }
}
