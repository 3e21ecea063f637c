-- PostgreSQL's 0023 adds `ward_store_message`, a send in one round trip.
-- SQLite's sends run on the relay's own send writer (store/sends/writer.rs)
-- with no round trips to save, so nothing changes here; the file keeps the
-- two directories numbered alike.
SELECT 1;
