"""Device adapters: one small class per device role over alpyca (``dome.py``,
``safety.py``), sharing one request path with retries and state polling
(``alpaca_client.py``) and one error map (``alpaca_errors.py``)."""
