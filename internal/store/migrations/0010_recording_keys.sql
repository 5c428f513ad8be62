-- Call recordings move to the media store (internal/media): the dialer puts
-- the WAV under recording_key ("recordings/<company id>/<call uuid>.wav")
-- before it commits the call's result, and stores the key with the result.
-- '' means the recording, if any, is in call_recordings, where recordings
-- made before this migration (and any the media store refused) stay.
ALTER TABLE calls ADD COLUMN recording_key TEXT NOT NULL DEFAULT '';
