"""What kubelet does for a pod with `runtimeClassName: rune`, over CRI v1, and nothing more.

Usage: kubelet.py SOCKET HANDLER IMAGE LOG_DIR
Prints one JSON object with what each step returned; exits non-zero on a failed RPC.
"""

import json
import os
import sys
import time

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1.api_pb2_grpc import RuntimeServiceStub


def main():
    socket, handler, image, log_dir = sys.argv[1:5]
    rt = RuntimeServiceStub(grpc.insecure_channel(f"unix://{socket}"))
    result = {}

    sandbox_config = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name="rune-pod", uid="rune-pod-uid", namespace="default", attempt=0),
        # kubelet leaves the hostname empty for a host-network pod: it keeps the node's.
        log_directory=log_dir,
        annotations={"run.rune.policy": "demo", "unrelated.example/x": "1"},
        linux=cri.LinuxPodSandboxConfig(
            security_context=cri.LinuxSandboxSecurityContext(
                # Host network: no CNI, no change to the host's networking.
                namespace_options=cri.NamespaceOption(network=cri.NODE),
            ),
        ),
    )
    pod = rt.RunPodSandbox(cri.RunPodSandboxRequest(config=sandbox_config, runtime_handler=handler))
    result["sandbox_id"] = pod.pod_sandbox_id

    container = rt.CreateContainer(
        cri.CreateContainerRequest(
            pod_sandbox_id=pod.pod_sandbox_id,
            config=cri.ContainerConfig(
                metadata=cri.ContainerMetadata(name="app", attempt=0),
                image=cri.ImageSpec(image=image),
                command=["sh", "-c", "echo hello-from-pod; exec sleep 1000"],
                log_path="app.log",
            ),
            sandbox_config=sandbox_config,
        )
    )
    cid = container.container_id
    result["container_id"] = cid
    rt.StartContainer(cri.StartContainerRequest(container_id=cid))

    log_path = os.path.join(log_dir, "app.log")
    deadline = time.monotonic() + 20
    log = ""
    while "hello-from-pod" not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = open(log_path).read() if os.path.exists(log_path) else ""
    # CRI log lines are "TIME STREAM TAG TEXT"; the time differs from run to run.
    result["log"] = [line.split(" ", 1)[1] for line in log.splitlines()]

    status = rt.ContainerStatus(cri.ContainerStatusRequest(container_id=cid))
    result["state"] = cri.ContainerState.Name(status.status.state)

    ex = rt.ExecSync(cri.ExecSyncRequest(container_id=cid, cmd=["sh", "-c", "echo in-exec; exit 4"], timeout=20))
    result["exec"] = {"stdout": ex.stdout.decode(), "exit_code": ex.exit_code}

    # Annotations as rune-run received them, while the sandbox still exists.
    result["runtime_state"] = os.environ.get("RUNE_STATE_CMD") and os.popen(
        f"{os.environ['RUNE_STATE_CMD']} {pod.pod_sandbox_id}"
    ).read()

    rt.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod.pod_sandbox_id))
    stopped = rt.ContainerStatus(cri.ContainerStatusRequest(container_id=cid))
    result["state_after_stop"] = cri.ContainerState.Name(stopped.status.state)
    rt.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod.pod_sandbox_id))
    result["pods_left"] = len(rt.ListPodSandbox(cri.ListPodSandboxRequest()).items)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
