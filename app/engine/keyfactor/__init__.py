"""Keyfactor Command "Workflow" steps on Baton's BPMN engine (no Flask, no SQL here).

Public modules (the contract with the Keyfactor services):

* :mod:`.catalog` — step types, workflow types, the GET Steps/Types shapes, ``validate_steps``,
  ``executable_steps``, ``minimum_approvals``, ``StepValidationError``.
* :mod:`.tokens` — ``$(name)`` token substitution and ``condition_holds``.
* :mod:`.compiler` — a step list → executable BPMN 2.0 XML with a diagram; the id mapping.
* :mod:`.engine` — ``make_keyfactor_script_engine`` (``ctx.engines["keyfactor"]``).
* :mod:`.connectors` — ``run_step``: what each step type does at run time.
* :mod:`.ca` — pluggable certificate-authority connectors (entry points ``baton.ca_connectors``).
* :mod:`.settings` — ``KeyfactorSettings`` (``BATON_SMTP_*``, ``BATON_HTTP_TIMEOUT``, ``BATON_CA_CONNECTOR``).

Internal: :mod:`.steptypes` (catalog data), :mod:`.validation`, :mod:`.base` (StepContext,
StepError), :mod:`.network` (Email, RESTRequest, OAuthRESTRequest).
"""
