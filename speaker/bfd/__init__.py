"""BFD for the speaker's BGP sessions through FRR's bfdd (see ``speaker.bfd.backend``)."""
