"""Prompts: the outbound messages a service sent that expect an answer, and which of them a
reply answers (issue 15). Pure: the model and the matching decision only; storage, the API and
the worker's use of them come later."""
