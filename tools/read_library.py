"""The tool that reads library headers (HipKittens' include/, the HIP or CUDA include folder)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.library_files import MAX_LINES, LibraryError, read_lines, search
from tools.registry import CandidateState, Reply, Workbench, tool


class ReadLibraryArgs(BaseModel):
    path: str = Field(
        "",
        description="'' for the library roots; 'ROOT' or 'ROOT/folder' to list a folder; 'ROOT/file' to read a file "
        "(e.g. 'hipkittens/kittens.cuh').",
    )
    start: int = Field(1, description="first line to show when reading a file")
    lines: int = Field(MAX_LINES, description=f"how many lines to show (at most {MAX_LINES})")
    find: str = Field("", description="a plain string: instead of reading, list the lines under 'path' that contain it")


@tool(
    position=7,
    args=ReadLibraryArgs,
    summary="list, read and search the library headers you may include (HipKittens, HIP or CUDA),\n"
    "   to check an API's real names and signatures before you use it.",
)
def read_library(wb: Workbench, state: CandidateState, args: ReadLibraryArgs) -> Reply:
    """List, read or search the headers of the libraries your kernel may include (the roots depend on the
    platform: HipKittens' include folder when HIPKITTENS_ROOT is set, the HIP or CUDA include folder).
    path='' lists the roots; a folder path lists it; a file path returns its lines with line numbers
    (start, lines); find='text' lists the lines under path that contain text. Use it to check the exact
    names, template parameters and signatures of a library API before you write code against it."""
    roots = wb.library_roots
    if not roots:
        return Reply(
            "ERROR: there are no library folders to read on this platform (no HipKittens, HIP or CUDA include folder was found)."
        )
    path = args.path.strip().strip("/")
    try:
        if not path:
            text = "library roots:\n" + "\n".join(f"{n}/  ({p})" for n, p in sorted(roots.items()))
        elif args.find:
            text = search(roots, path, args.find)
        else:
            text = read_lines(roots, path, args.start, args.lines)
    except LibraryError as e:
        return Reply(f"ERROR: {e}")
    return Reply(text, artifact={"path": path, "find": args.find or None, "start": args.start})
