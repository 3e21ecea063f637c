//! Reading part of a file the patient chose, without reading all of it.

use js_sys::Uint8Array;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;
use zeroize::Zeroizing;

use crate::session::SessionError;

/// Bytes `start..end` of `blob` (plaintext: zeroized when dropped).
pub(super) async fn slice(
    blob: &Blob,
    start: u64,
    end: u64,
) -> Result<Zeroizing<Vec<u8>>, SessionError> {
    let part = blob
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|_| SessionError::FileUnreadable)?;
    let buffer = JsFuture::from(part.array_buffer())
        .await
        .map_err(|_| SessionError::FileUnreadable)?;
    let bytes = Zeroizing::new(Uint8Array::new(&buffer).to_vec());
    if bytes.len() as u64 != end - start {
        return Err(SessionError::FileChanged);
    }
    Ok(bytes)
}
