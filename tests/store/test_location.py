"""Where the workspace lives: environment variable, settings file, user data directory."""

from pathlib import Path

from dashboard.store.location import resolve, settings_file


def test_the_environment_variable_wins(tmp_path):
    loc = resolve({"DASHBOARD_WORKSPACE": str(tmp_path / "ws")}, home=tmp_path)
    assert loc.path == tmp_path / "ws" and loc.source == "DASHBOARD_WORKSPACE"


def test_then_the_settings_file(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    f = settings_file(env, tmp_path)
    f.parent.mkdir(parents=True)
    f.write_text('workspace = "clinic"\n')
    loc = resolve(env, home=tmp_path)
    assert loc.path == f.parent / "clinic" and loc.source.startswith("settings file")
    f.write_text("workspace = '/srv/rheum'\n")
    assert resolve(env, home=tmp_path).path == Path("/srv/rheum")


def test_else_the_user_data_directory(tmp_path):
    assert resolve({}, home=tmp_path).path == tmp_path / ".local/share/immunosuppressant-dashboard/workspace"
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert resolve(env, home=tmp_path).path == tmp_path / "data/immunosuppressant-dashboard/workspace"


def test_a_broken_settings_file_is_ignored(tmp_path):
    f = settings_file({}, tmp_path)
    f.parent.mkdir(parents=True)
    f.write_text("workspace = [unclosed")
    assert resolve({}, home=tmp_path).source == "user data directory"
