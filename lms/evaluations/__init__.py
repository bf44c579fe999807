"""The CE evaluation: after attending, clinicians evaluate it; answers stay anonymous."""
