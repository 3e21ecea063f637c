//! A file on its way up with one of the patient's own messages.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::attachments::upload::prepare;
use crate::attachments::{percent, size_label};
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, tr};
use crate::messaging::{Inbox, UploadStep};
use crate::session::Session;

/// A file on its way up with one of the patient's messages: how far, and
/// Cancel; after a closed tab, a way to choose the file again.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn UploadProgress(thread_id: String, message_id: String) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let error = RwSignal::new(None::<String>);
    let state = {
        let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
        move || {
            let running = inbox.upload_done.with(|d| d.get(&message_id).copied());
            inbox
                .messages
                .with(|all| {
                    all.get(&thread_id)
                        .and_then(|list| list.iter().rev().find(|m| m.message_id == message_id))
                        .and_then(|m| m.upload.clone())
                })
                .map(|mut upload| {
                    upload.done = running.unwrap_or(upload.done);
                    upload
                })
        }
    };
    let cancel = {
        let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
        move |_| {
            let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
            spawn_local(async move { inbox.cancel_upload(&thread_id, &message_id).await });
        }
    };
    let again = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
        let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) else {
            return;
        };
        let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
        error.set(None);
        spawn_local(async move {
            // The same checks and cleaning as the first time, so the bytes
            // (and their fingerprint) come out the same.
            let picked = match prepare(&file, u64::MAX, &[]).await {
                Ok(picked) => picked,
                Err(reason) => {
                    error.set(Some(reason));
                    return;
                }
            };
            // Why a file was not taken shows in the upload's own state,
            // which outlives this row being rebuilt.
            let _ = inbox
                .resume_with_file(session, &thread_id, &message_id, picked)
                .await;
        });
    };
    view! {
        {move || state().map(|upload| {
            let percent = percent(upload.done, upload.total).to_string();
            let percent = percent.as_str();
            let text = match upload.step {
                UploadStep::Preparing => fill(
                    Text::UploadPreparing,
                    &[("name", &upload.name), ("percent", percent)],
                ),
                UploadStep::Uploading => fill(
                    Text::UploadUploading,
                    &[
                        ("done", &size_label(upload.done)),
                        ("total", &size_label(upload.total)),
                        ("percent", percent),
                    ],
                ),
                UploadStep::Waiting => fill(Text::UploadWaiting, &[("percent", percent)]),
                UploadStep::NeedsFile => fill(Text::UploadNeedsFile, &[("name", &upload.name)]),
            };
            view! {
                <div class="upload">
                    <progress max=upload.total.to_string() value=upload.done.to_string()
                        aria-label=fill(Text::UploadLabel, &[("name", &upload.name)])></progress>
                    <p class="hint" role="status">{text}</p>
                    {(upload.step == UploadStep::NeedsFile).then(|| view! {
                        <input id="upload-again" type="file" class="visually-hidden" on:change=again.clone() />
                        <label for="upload-again" class="button secondary">{tr(Text::UploadChooseAgain)}</label>
                    })}
                    {upload.problem.map(|problem| view! { <p class="error-note" role="alert">{problem}</p> })}
                    <button type="button" class="link-button" on:click=cancel.clone()>{tr(Text::UploadCancel)}</button>
                </div>
            }
        })}
        <ErrorNote message=error />
    }
}
