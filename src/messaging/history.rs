//! How pages fetched from the relay join what a thread already shows.

use super::{Delivery, Shown};

/// Puts `fetched` (opened from the relay, any order) into `list`. A message
/// already there (same sender and id: one this device sent, or a page
/// fetched twice) takes the relay's sequence number, and one of the
/// patient's own becomes "Sent"; the rest go in. Then the list is in the
/// relay's order, with what the relay does not have yet (sending, queued,
/// not sent) last, in the order it was written.
pub(super) fn merge(list: &mut Vec<Shown>, fetched: Vec<Shown>) {
    for message in fetched {
        match list
            .iter_mut()
            .find(|m| m.sender_id == message.sender_id && m.message_id == message.message_id)
        {
            Some(existing) => {
                // Only the relay's copy says more than what is shown.
                if message.seq.is_some() {
                    existing.seq = message.seq;
                    if existing.delivery.is_some() {
                        existing.delivery = Some(Delivery::Sent);
                    }
                }
            }
            None => list.push(message),
        }
    }
    // Stable: unsent messages keep their order among themselves. Unsent ones
    // sort last as `u64::MAX`, a number the relay never gives (its sequence
    // numbers are SQL BIGINTs).
    crate::components::sort_by_u64(list, |m| m.seq.unwrap_or(u64::MAX));
}

/// The relay's newest sequence number among `list`, if any is stored.
pub(super) fn newest_seq(list: &[Shown]) -> Option<u64> {
    list.iter().filter_map(|m| m.seq).max()
}

/// The sequence number up to which `list` holds every stored message from
/// its oldest on: where catching up starts. Not the newest one: while the
/// live stream was down, the relay's answers to the patient's own sends
/// still numbered those (say #57) past messages that arrived meanwhile
/// (#55, #56), which catching up after #57 would never fetch.
pub(super) fn caught_up_to(list: &[Shown]) -> Option<u64> {
    let mut seqs: Vec<u64> = list.iter().filter_map(|m| m.seq).collect();
    crate::components::sort_by_u64(&mut seqs, |seq| *seq);
    let mut seqs = seqs.into_iter();
    let mut last = seqs.next()?;
    for seq in seqs {
        if seq > last.saturating_add(1) {
            break;
        }
        last = seq;
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, sender: &str, seq: Option<u64>, delivery: Option<Delivery>) -> Shown {
        Shown {
            seq,
            message_id: id.into(),
            sender_id: sender.into(),
            sent_at_ms: 0,
            text: id.into(),
            quick_replies: Vec::new(),
            answers_offer: None,
            delivery,
            attachments: Vec::new(),
            upload: None,
        }
    }

    fn ids(list: &[Shown]) -> Vec<&str> {
        list.iter().map(|m| m.message_id.as_str()).collect()
    }

    #[test]
    fn an_earlier_page_goes_before_and_a_later_one_after() {
        let mut list = vec![
            message("c", "x", Some(3), None),
            message("d", "x", Some(4), None),
        ];
        merge(
            &mut list,
            vec![
                message("a", "x", Some(1), None),
                message("b", "x", Some(2), None),
            ],
        );
        merge(&mut list, vec![message("e", "x", Some(5), None)]);
        assert_eq!(ids(&list), ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_message_this_device_sent_is_not_shown_twice_and_becomes_sent() {
        let mut list = vec![
            message("old", "clinic", Some(1), None),
            message("mine", "me", None, Some(Delivery::Queued)),
            message("later", "me", None, Some(Delivery::Sending)),
        ];
        merge(
            &mut list,
            vec![message("mine", "me", Some(2), Some(Delivery::Sent))],
        );
        assert_eq!(ids(&list), ["old", "mine", "later"]);
        assert_eq!(list[1].seq, Some(2));
        assert_eq!(list[1].delivery, Some(Delivery::Sent));
        assert_eq!(list[2].delivery, Some(Delivery::Sending), "not stored yet");
    }

    #[test]
    fn a_queued_copy_of_a_message_being_sent_changes_nothing() {
        let mut list = vec![message("m", "me", None, Some(Delivery::Sending))];
        merge(
            &mut list,
            vec![message("m", "me", None, Some(Delivery::Queued))],
        );
        assert_eq!(
            list,
            vec![message("m", "me", None, Some(Delivery::Sending))]
        );
    }

    #[test]
    fn the_same_id_from_another_sender_is_another_message() {
        let mut list = vec![message("m", "me", Some(1), Some(Delivery::Sent))];
        merge(&mut list, vec![message("m", "clinic", Some(2), None)]);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn catching_up_starts_at_the_first_hole_not_at_the_newest() {
        let stored = |seqs: &[u64]| -> Vec<Shown> {
            seqs.iter()
                .map(|&seq| message(&format!("m{seq}"), "x", Some(seq), None))
                .collect()
        };
        assert_eq!(caught_up_to(&[]), None);
        assert_eq!(
            caught_up_to(&stored(&[3, 4, 5])),
            Some(5),
            "from the oldest loaded"
        );
        // #55 and #56 went by while the stream was down; #57 is the
        // patient's own, numbered by the relay's answer.
        let mut list = stored(&[53, 54, 57]);
        list.push(message("sending", "me", None, Some(Delivery::Sending)));
        assert_eq!(caught_up_to(&list), Some(54));
        assert_eq!(newest_seq(&list), Some(57));
        merge(&mut list, stored(&[55, 56]));
        assert_eq!(caught_up_to(&list), Some(57));
    }

    #[test]
    fn fetching_a_page_twice_changes_nothing() {
        let page = vec![
            message("a", "x", Some(1), None),
            message("b", "x", Some(2), None),
        ];
        let mut list = Vec::new();
        merge(&mut list, page.clone());
        merge(&mut list, page.clone());
        assert_eq!(list, page);
        assert_eq!(newest_seq(&list), Some(2));
    }
}
