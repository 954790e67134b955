"""``python -m trecvid_fpig`` is ``fpig-trecvid``."""
from .cli import main

main()
