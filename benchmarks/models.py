"""Generated BPMN models for benchmarks and load tests."""

from __future__ import annotations


def chain_model(activities: int, key: str = "chain", scripts: bool = False) -> str:
    """start → ``activities`` tasks in a row → end, with a diagram. Script tasks add 1 to ``n``."""
    nodes, flows, shapes, edges = [], [], [], []
    ids = ["start"] + [f"a{i}" for i in range(activities)] + ["end"]
    for i, node in enumerate(ids):
        x = 100 + i * 150
        if node == "start":
            nodes.append('<bpmn:startEvent id="start" />')
        elif node == "end":
            nodes.append('<bpmn:endEvent id="end" />')
        elif scripts:
            nodes.append(f'<bpmn:scriptTask id="{node}" name="step {node}" scriptFormat="python">'
                         f'<bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>')
        else:
            nodes.append(f'<bpmn:task id="{node}" name="step {node}" />')
        shapes.append(f'<bpmndi:BPMNShape id="{node}_di" bpmnElement="{node}">'
                      f'<dc:Bounds x="{x}" y="100" width="100" height="80" /></bpmndi:BPMNShape>')
    for i in range(len(ids) - 1):
        flow = f"f{i}"
        flows.append(f'<bpmn:sequenceFlow id="{flow}" sourceRef="{ids[i]}" targetRef="{ids[i + 1]}" />')
        edges.append(f'<bpmndi:BPMNEdge id="{flow}_di" bpmnElement="{flow}"><di:waypoint x="{200 + i * 150}" '
                     f'y="140" /><di:waypoint x="{250 + i * 150}" y="140" /></bpmndi:BPMNEdge>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="http://baton.example/bench">'
        f'<bpmn:process id="{key}" isExecutable="true">{"".join(nodes)}{"".join(flows)}</bpmn:process>'
        f'<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="{key}">{"".join(shapes)}'
        f'{"".join(edges)}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>'
    )
