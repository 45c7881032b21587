"""The user interface helpers: the only part of the package that imports streamlit.

Pages call these; everything they compute comes from the pure modules.  One module per
concern (each imports its siblings, never this package):

* :mod:`~dashboard.ui.state`: the session state's keys, defaults and accessors, and the
  version tokens the caches key on;
* :mod:`~dashboard.ui.routing`: the guard every page calls, the one workaround for the
  legacy ``pages/`` mode, the URL of the workspace panel;
* :mod:`~dashboard.ui.auth`: optional login (fails closed) and who is entering data;
* :mod:`~dashboard.ui.caching`: imports, the review, the panel table, the flags;
* :mod:`~dashboard.ui.picker`: the patient picker;
* :mod:`~dashboard.ui.widgets`: the small pieces several pages draw;
* :mod:`~dashboard.ui.uploads`: the sample, uploads, the date order and column mapping;
* :mod:`~dashboard.ui.actions`: what buttons and forms do (values as arguments);
* :mod:`~dashboard.ui.workspace_forms`, :mod:`~dashboard.ui.patient_forms`: the forms;
* :mod:`~dashboard.ui.patient_view`, :mod:`~dashboard.ui.panel_view`,
  :mod:`~dashboard.ui.dosing_view`: page sections;
* :mod:`~dashboard.ui.exports`: the download buttons.

This module re-exports the names the pages use, so that a page reads ``ui.as_of()``.
Logging: counts, file formats and timings only, never a value or a patient id
(``docs/logging.md``).
"""

from dashboard.ui.actions import (
    on_mode_change,
    open_workspace_panel,
    patient_flags,
    save_session_to_workspace,
    then_refresh,
    use_session_only,
    workspace,
)
from dashboard.ui.auth import (
    BROKEN,
    DISCLAIMER,
    auth_failure,
    auth_section,
    close_metrics,
    logged_in,
    login_configured,
    login_name,
    login_prompt,
    login_provider,
    needs_login,
    reviewer,
)
from dashboard.ui.caching import (
    current_panel,
    current_panel_with_reviews,
    current_review,
    current_review_log,
    import_files,
    load_sample_panel,
    open_flags_reviewed,
    panel_flags,
    patient_dataset,
    patient_label,
    patient_labels,
    patient_review,
    review_log,
    review_summary,
)
from dashboard.ui.exports import export_buttons
from dashboard.ui.picker import identity_conflicts, patient_picker, show_identity_conflict
from dashboard.ui.routing import page_guard, restore_from_url
from dashboard.ui.state import (
    AS_OF,
    DATASET,
    MODE,
    PATIENT,
    PERSIST,
    PROFILE,
    REVIEWER,
    SESSION_ONLY,
    UPLOADER,
    WORKSPACE,
    as_of,
    dataset_version,
    get_dataset,
    in_workspace,
    init_state,
    unit_system,
    workspace_panel,
)
from dashboard.ui.uploads import (
    import_uploaded,
    load_sample_into_session,
    mapping_form,
    on_upload,
    reimport_with_choices,
    upload_key,
    upload_limits,
)
from dashboard.ui.widgets import (
    disclaimer,
    download_csv,
    flags_table,
    flags_with_detail,
    require_dataset,
    show_cumulative_dose,
    show_notice,
    show_table,
    sidebar_controls,
)

__all__ = [
    "AS_OF",
    "BROKEN",
    "DATASET",
    "DISCLAIMER",
    "MODE",
    "PATIENT",
    "PERSIST",
    "PROFILE",
    "REVIEWER",
    "SESSION_ONLY",
    "UPLOADER",
    "WORKSPACE",
    "as_of",
    "auth_failure",
    "auth_section",
    "close_metrics",
    "current_panel",
    "current_panel_with_reviews",
    "current_review",
    "current_review_log",
    "dataset_version",
    "disclaimer",
    "download_csv",
    "export_buttons",
    "flags_table",
    "flags_with_detail",
    "get_dataset",
    "identity_conflicts",
    "import_files",
    "import_uploaded",
    "in_workspace",
    "init_state",
    "load_sample_into_session",
    "load_sample_panel",
    "logged_in",
    "login_configured",
    "login_name",
    "login_prompt",
    "login_provider",
    "mapping_form",
    "needs_login",
    "on_mode_change",
    "on_upload",
    "open_flags_reviewed",
    "open_workspace_panel",
    "page_guard",
    "panel_flags",
    "patient_dataset",
    "patient_flags",
    "patient_label",
    "patient_labels",
    "patient_picker",
    "patient_review",
    "reimport_with_choices",
    "require_dataset",
    "restore_from_url",
    "review_log",
    "review_summary",
    "reviewer",
    "save_session_to_workspace",
    "show_cumulative_dose",
    "show_identity_conflict",
    "show_notice",
    "show_table",
    "sidebar_controls",
    "then_refresh",
    "unit_system",
    "upload_key",
    "upload_limits",
    "use_session_only",
    "workspace",
    "workspace_panel",
]
