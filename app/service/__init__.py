"""The property office's service desk: requests, work orders, SLA clocks, return visits."""
