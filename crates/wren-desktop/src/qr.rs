//! Reading a pairing code from a QR image: a file or a clipboard image.
//!
//! Images are untrusted: their size is capped before decoding, and every
//! failure is an error for the user, never a panic.

use std::io::Cursor;

use image::{GrayImage, ImageReader, Limits};

/// The largest image file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// The largest image accepted, in pixels per side.
pub const MAX_SIDE: u32 = 8192;

/// Why no code came out of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrError {
    /// The image could not be read (format, size, corruption).
    Image(String),
    /// The image holds no readable QR code.
    NoCode,
}

impl std::fmt::Display for QrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Image(error) => write!(f, "the image could not be read: {error}"),
            Self::NoCode => f.write_str("no QR code found in the image"),
        }
    }
}

impl std::error::Error for QrError {}

/// The text of the QR code in an encoded image (PNG or JPEG).
pub fn decode_image(bytes: &[u8]) -> Result<String, QrError> {
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
        return Err(QrError::Image("the file is too large".into()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::Image(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| QrError::Image(e.to_string()))?;
    decode_gray(image.to_luma8())
}

/// The text of the QR code in raw RGBA pixels (a clipboard image).
pub fn decode_rgba(width: usize, height: usize, rgba: &[u8]) -> Result<String, QrError> {
    let too_large = || QrError::Image("the image is too large".into());
    let w = u32::try_from(width).map_err(|_| too_large())?;
    let h = u32::try_from(height).map_err(|_| too_large())?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(too_large());
    }
    if width.checked_mul(height).and_then(|n| n.checked_mul(4)) != Some(rgba.len()) {
        return Err(QrError::Image(
            "the pixel data does not match its size".into(),
        ));
    }
    let luma: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|px| match px {
            [r, g, b, a] => {
                // Blend onto white, then ITU-R 601 luma.
                let blend =
                    |c: u8| (u32::from(c) * u32::from(*a) + 255 * (255 - u32::from(*a))) / 255;
                let y = (299 * blend(*r) + 587 * blend(*g) + 114 * blend(*b)) / 1000;
                u8::try_from(y).unwrap_or(u8::MAX)
            }
            _ => u8::MAX,
        })
        .collect();
    let image = GrayImage::from_raw(w, h, luma)
        .ok_or_else(|| QrError::Image("the pixel data does not match its size".into()))?;
    decode_gray(image)
}

/// The first QR code that decodes, preferring a Wren pairing code.
fn decode_gray(image: GrayImage) -> Result<String, QrError> {
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let mut found = None;
    for grid in prepared.detect_grids() {
        if let Ok((_meta, content)) = grid.decode() {
            if content.starts_with("wren:") {
                return Ok(content);
            }
            found.get_or_insert(content);
        }
    }
    found.ok_or(QrError::NoCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QR code of `text` as luma pixels: 4 pixels a module, a 4-module
    /// quiet zone.
    fn render(text: &str) -> (u32, Vec<u8>) {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let scale = 4;
        let side = (modules + 8) * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..modules {
            for x in 0..modules {
                if colors[y * modules + x] == qrcode::Color::Dark {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let py = (y + 4) * scale + dy;
                            let px = (x + 4) * scale + dx;
                            pixels[py * side + px] = 0;
                        }
                    }
                }
            }
        }
        (u32::try_from(side).unwrap(), pixels)
    }

    #[test]
    fn a_code_survives_png_and_rgba() {
        let code = "wren:1/ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let (side, luma) = render(code);
        let image = GrayImage::from_raw(side, side, luma.clone()).unwrap();
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(decode_image(&png).unwrap(), code);

        let rgba: Vec<u8> = luma.iter().flat_map(|&l| [l, l, l, 255]).collect();
        let side = usize::try_from(side).unwrap();
        assert_eq!(decode_rgba(side, side, &rgba).unwrap(), code);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_image(b"not an image"),
            Err(QrError::Image(_))
        ));
        assert!(matches!(
            decode_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x00\x00\x00\x00"),
            Err(QrError::Image(_))
        ));
        assert!(matches!(
            decode_rgba(2, 2, &[0; 15]),
            Err(QrError::Image(_))
        ));
        assert!(matches!(
            decode_rgba(usize::MAX, 2, &[]),
            Err(QrError::Image(_))
        ));
        let blank = vec![255u8; 64 * 64 * 4];
        assert_eq!(decode_rgba(64, 64, &blank), Err(QrError::NoCode));
    }
}
