from prometheus_client import CollectorRegistry, Counter

from nexa.observability.prometheus import child


def test_a_child_is_looked_up_once_and_counts_under_its_labels() -> None:
    registry = CollectorRegistry()
    requests = Counter("test_requests_total", "Requests", ["method", "status"], registry=registry)
    assert child(requests, "GET", "200") is child(requests, "GET", "200")
    child(requests, "GET", "200").inc()
    child(requests, "GET", "200").inc()
    child(requests, "POST", "201").inc()
    assert registry.get_sample_value("test_requests_total", {"method": "GET", "status": "200"}) == 2
    assert registry.get_sample_value("test_requests_total", {"method": "POST", "status": "201"}) == 1
