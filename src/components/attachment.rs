//! An attachment in a thread: a photo's preview that opens full size, or a
//! document with its name, type and size that downloads. Either is fetched
//! and decrypted (by the attachments service, [`attachments::open`]) only
//! when asked for; the decrypted file
//! lives in a `blob:` URL that is revoked when the photo is closed or the
//! download has started.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast as _;

use crate::attachments::download::shows_inline;
use crate::attachments::{self, Attachment, percent, photo, size_label};
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, t, tr};
use crate::session::{Session, SessionError};

/// How a document's kind is named.
fn kind_label(media_type: &str) -> &'static str {
    t(match media_type {
        "application/pdf" => Text::ThreadAttachmentPdf,
        m if m.starts_with("image/") => Text::ThreadAttachmentPicture,
        m if m.starts_with("text/") => Text::ThreadAttachmentTextFile,
        _ => Text::ThreadAttachmentFile,
    })
}

/// One attachment of a message.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn AttachmentView(attachment: Attachment) -> impl IntoView {
    let session = Session::get();
    let error = RwSignal::new(None::<String>);
    let progress = RwSignal::new(None::<u64>);
    let viewing = RwSignal::new(None::<String>);
    let size = attachment.size;
    let name = attachment.name.clone();
    let inline = shows_inline(&attachment);
    let fetch = {
        let attachment = attachment.clone();
        move |then: fn(String, &str)| {
            if progress.get_untracked().is_some() {
                return;
            }
            let attachment = attachment.clone();
            progress.set(Some(0));
            error.set(None);
            spawn_local(async move {
                let result =
                    attachments::open(session, &attachment, |done| progress.set(Some(done))).await;
                progress.set(None);
                match result.map(|blob| web_sys::Url::create_object_url_with_blob(&blob)) {
                    Ok(Ok(url)) => {
                        if inline {
                            viewing.set(Some(url));
                        } else {
                            then(url, &attachment.name);
                        }
                    }
                    Ok(Err(_)) => error.set(Some(t(Text::ThreadAttachmentCannotOpen).into())),
                    // Locked or signed out meanwhile: nothing to show.
                    Err(SessionError::Interrupted) => {}
                    Err(e) => error.set(Some(session.explain(&e))),
                }
            });
        }
    };
    let close = move |_| {
        if let Some(url) = viewing.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        viewing.set(None);
    };
    on_cleanup(move || {
        if let Some(url) = viewing.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    });
    let status = move || {
        progress.get().map(|done| {
            let percent = percent(done, size);
            fill(
                Text::ThreadAttachmentOpening,
                &[("percent", &percent.to_string())],
            )
        })
    };
    let preview = attachment.thumbnail.as_deref().and_then(photo::data_url);
    let open_label = {
        let name = name.clone();
        move || fill(Text::ThreadAttachmentOpenPhoto, &[("name", &name)])
    };
    let download_label = {
        let name = name.clone();
        move || fill(Text::ThreadAttachmentDownload, &[("name", &name)])
    };
    let kind = {
        let media_type = attachment.media_type.clone();
        move || format!(" {} · {}", kind_label(&media_type), size_label(size))
    };
    let fetch_photo = fetch.clone();
    view! {
        <div class="attachment">
            {if inline {
                view! {
                    <button type="button" class="photo" aria-label=open_label on:click=move |_| fetch_photo(save)>
                        {match preview {
                            Some(src) => view! { <img src=src alt="" class="thumb" /> }.into_any(),
                            None => view! { <span>{name.clone()}</span> }.into_any(),
                        }}
                    </button>
                }.into_any()
            } else {
                view! {
                    <p class="document">
                        <svg aria-hidden="true" class="doc-icon" viewBox="0 0 16 20" width="16" height="20">
                            <path d="M1 1h9l5 5v13H1z M10 1v5h5" fill="none" stroke="currentColor" stroke-width="1.5" />
                        </svg>
                        <strong>{attachment.name.clone()}</strong>
                        <span class="hint">{kind}</span>
                    </p>
                    <button type="button" class="button secondary" on:click=move |_| fetch(save)>
                        {download_label}
                    </button>
                }.into_any()
            }}
            <p role="status" class="hint">{status}</p>
            <ErrorNote message=error />
            {move || viewing.get().map(|url| view! {
                <div class="viewer" role="dialog" aria-modal="true" aria-label=attachment.name.clone()>
                    <img src=url alt=attachment.name.clone() />
                    <button type="button" class="button primary" autofocus on:click=close>{tr(Text::ThreadAttachmentClose)}</button>
                </div>
            })}
        </div>
    }
}

/// Saves a decrypted file under its name, then revokes its URL.
fn save(url: String, name: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(link) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        link.set_href(&url);
        link.set_download(name);
        link.click();
    }
    // Long enough for the browser to have taken the file.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
}
