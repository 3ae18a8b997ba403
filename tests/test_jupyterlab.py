"""The real JupyterLab server, on 127.0.0.1, with the project's kernel: lists the notebooks and runs
a cell that imports lib, through its REST API and kernel websocket."""
import json
import secrets
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
import websocket

from lib.study import paths, pipeline


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    runtime = tmp_path_factory.mktemp("jupyter")
    env = {"JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(runtime / "config"), "PATH": "/usr/bin:/bin",
           "HOME": str(runtime), "JUPYTER_PLATFORM_DIRS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={paths.REPO_ROOT}", "--ServerApp.open_browser=False", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    for _ in range(120):
        try:
            if requests.get(f"{base}/api/status", headers=headers, timeout=2).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"JupyterLab did not start: {proc.stderr.read()[-2000:]}")
    yield base, headers, token
    proc.terminate()
    proc.wait(30)


def test_lab_lists_the_notebooks(server):
    base, headers, _ = server
    listing = requests.get(f"{base}/api/contents/notebooks", headers=headers, timeout=10).json()
    names = {item["name"] for item in listing["content"]}
    assert {p.name for p in pipeline.discover()} <= names
    specs = requests.get(f"{base}/api/kernelspecs", headers=headers, timeout=10).json()["kernelspecs"]
    assert pipeline.KERNEL in specs


def test_a_notebook_kernel_runs_a_cell_importing_lib(server):
    base, headers, token = server
    nb_path = f"notebooks/{pipeline.discover()[0].name}"
    session = requests.post(f"{base}/api/sessions", headers=headers, timeout=60, json={
        "path": nb_path, "type": "notebook", "name": nb_path, "kernel": {"name": pipeline.KERNEL}}).json()
    kernel_id = session["kernel"]["id"]
    ws = websocket.create_connection(f"{base.replace('http', 'ws')}/api/kernels/{kernel_id}/channels?token={token}", timeout=120)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": "import lib.study.profiles\nprint(lib.study.profiles.get_profile('smoke').name, lib.__file__)",
                    "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
    }))
    out, status = "", None
    deadline = time.time() + 120
    while time.time() < deadline and status is None:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out += msg["content"]["text"]
        elif msg["msg_type"] == "execute_reply":
            status = msg["content"]["status"]
    ws.close()
    requests.delete(f"{base}/api/sessions/{session['id']}", headers=headers, timeout=30)
    assert status == "ok"
    assert out.startswith("smoke ") and str(paths.REPO_ROOT / "lib") in out
