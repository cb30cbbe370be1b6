"""Session-state keys, named once. Widget keys start with their page's name instead."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Tests point this at a temporary folder; the app ships its models in checkpoints/.
CHECKPOINT_DIR = Path(os.environ.get("LATENT_LAB_CHECKPOINTS", PROJECT_ROOT / "checkpoints"))
# Models saved from the Train page: never checkpoints/, whose shipped models are read-only to
# the app. Listed for every session, like the shipped ones.
SAVED_DIR = Path(os.environ.get("LATENT_LAB_SAVED", PROJECT_ROOT / "saved_models"))
DEFAULT_CHECKPOINT = "ae_32"  # what a first-time visitor sees, if it is shipped

ACTIVE_MODEL = "active_model"  # label of the model every page shows
RESOLVED_MODEL = "resolved_model"  # ui.models.ActiveModel decided for this run (or None)
PENDING_ACTIVE_MODEL = "pending_active_model"  # a new model to make active before the picker
SESSION_MODELS = "session_models"  # label -> Checkpoint trained or uploaded in this session
UPLOAD_ERROR = "upload_error"  # message of the last refused upload
SELECTED_DIGIT = "selected_digit"  # dataset index sent from the latent map to the sliders
INTERPOLATION_ENDS = "interpolation_ends"  # [index or None, index or None] for interpolation
SAVED_BY_SESSION = "saved_by_session"  # paths this session saved: the only ones it may replace
TRAIN_RUN = "train_run"  # this session's latest training run (ui.training.TrainingRun)
BROWSER_DECODER_FAILURE = "browser_decoder_failure"  # why this browser could not decode, if so
DRAWN_DIGIT = "drawn_digit"  # ui.widgets.Drawing sent from the Draw page to sliders/interpolation
SESSION_RESULTS = "session_results"  # ui.models.session_result: what this session's models gave
PRESENTING = "classroom_present"  # classroom mode on (the sidebar toggle's key; ?present=1)
TOUR = "tour"  # ui.tour_format.Tour this session steps through (or None)
TOUR_STEP = "tour_step"  # index of the tour's step on show
TOUR_NOTE = "tour_note"  # one line about the step just applied (a model that is not here)
TOUR_PENDING_STEP = "tour_pending_step"  # set by an upload: show the tour's step on the next run
TOUR_WIDGETS = "tour_widgets"  # widget key -> value of the step just opened, set before its page
TOUR_REVEALED = "tour_revealed"  # the step on show has revealed its question's answer
TOUR_UPLOADED = "tour_uploaded"  # file_id of the tour file last read from the teacher's upload
CLASSROOM_MESSAGE = "classroom_message"  # (line, refused) from the teacher's last save or upload
LINK_WRITTEN = "link_written"  # query parameter -> value this session put in the address bar
OWN_IMAGES = "own_images"  # ui.own_images.SessionImages: the images this session uploaded
OWN_IMAGES_REFUSED = "own_images_refused"  # (file id, message) of the last refused image upload
