"""After the problem: rating prompts, the answers, follow-ups on low scores, contacts
recorded by a helpdesk, and the reports that read them (design.md, ``notifier/care/``)."""
