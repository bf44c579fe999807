"""The Certificate of Training: the programme credential's requirement (versioned rule data),
the consultation log its consultants confirm, and (beside them) the session log and documents."""
