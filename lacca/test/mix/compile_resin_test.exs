defmodule Mix.Tasks.Compile.ResinTest do
  # The prebuilt path (LACCA_RESIN_PATH) and the docs; tests/lacca_build_cache.sh checks the CMake path.
  use ExUnit.Case, async: false

  alias Mix.Tasks.Compile.Resin

  setup do
    previous = System.get_env("LACCA_RESIN_PATH")

    on_exit(fn ->
      if previous,
        do: System.put_env("LACCA_RESIN_PATH", previous),
        else: System.delete_env("LACCA_RESIN_PATH")
    end)
  end

  test "a prebuilt resin identical to the installed one changes nothing" do
    {:ok, installed} = Lacca.Resin.path(nil)
    copy = Path.join(System.tmp_dir!(), "resin-#{System.unique_integer([:positive])}")
    File.cp!(installed, copy)
    on_exit(fn -> File.rm(copy) end)

    System.put_env("LACCA_RESIN_PATH", copy)
    assert Resin.run([]) == {:noop, []}
  end

  # mix.exs compiles the task before the project does, and writes its .beam where docs are read.
  test "its documentation is in a .beam on the code path, where mix help reads it" do
    assert {:docs_v1, _, _, _, %{"en" => moduledoc}, _, _} = Code.fetch_docs(Resin)
    assert moduledoc =~ "LACCA_RESIN_PATH"
    assert Resin in Mix.Task.load_all()
  end

  test "mix help shows the task's documentation, and lists it with its short description" do
    lacca = Path.expand("../..", __DIR__)

    {doc, 0} = System.cmd("mix", ["help", "compile.resin"], cd: lacca, stderr_to_stdout: true)
    assert doc =~ "Builds resin, lacca's sandboxing helper, and installs it in lacca's `priv/`."
    assert doc =~ "LACCA_RESIN_CACHE"
    refute doc =~ "There is no documentation"

    {list, 0} = System.cmd("mix", ["help"], cd: lacca, stderr_to_stdout: true)
    assert list =~ ~r/^mix compile\.resin +# Builds resin/m
  end

  test "a LACCA_RESIN_PATH that is not a file is one clear error" do
    System.put_env("LACCA_RESIN_PATH", "/nonexistent/resin")

    assert_raise Mix.Error, ~r"LACCA_RESIN_PATH is /nonexistent/resin, which is not a file", fn ->
      Resin.run([])
    end
  end

  describe "CMake's process group" do
    import Lacca.Test.OSProcesses

    test "passes the program's output and exit status through, and leaves nothing running" do
      marker = marker()
      script = "echo out; echo err >&2; sleep #{marker} & exit 3"

      assert Resin.cmd_ended_with_beam("sh", ["-c", script], stderr_to_stdout: true) ==
               {"out\nerr\n", 3}

      eventually(fn -> find_argv(["sleep", marker]) == [] end, 5_000, "the sleep to be killed")
    end

    # The end of the port can come before setsid has made the program's group.
    test "a port closed as soon as it is opened leaves nothing running" do
      marker = marker()
      {sh, argv} = Resin.ended_with_beam("sleep", [marker])

      for _ <- 1..30 do
        port = Port.open({:spawn_executable, sh}, [:binary, :exit_status, args: argv])
        Port.close(port)
      end

      eventually(fn -> find_argv(["sleep", marker]) == [] end, 10_000, "every sleep to be killed")
    end

    # The shell killed, its program goes on (the BEAM still holds the port) and ends on its own:
    # then the port must close. The watcher, which only ends with the port, must not hold its
    # output open.
    test "the port closes once the program ends, though the shell was killed" do
      {sh, argv} = Resin.ended_with_beam("sleep", ["1"])
      port = Port.open({:spawn_executable, sh}, [:binary, :exit_status, args: argv])
      {:os_pid, shell} = Port.info(port, :os_pid)
      eventually(fn -> length(descendants(shell)) >= 2 end, 10_000, "the program and the watcher")

      {_, 0} = System.cmd("kill", ["-9", Integer.to_string(shell)])
      assert_receive {^port, {:exit_status, 137}}, 5_000
    end

    # An interrupted `mix compile` (Ctrl-C, then abort) ends the BEAM as a kill does.
    test "dies with the BEAM that started it, children and all" do
      marker = marker()
      # Where mix.exs writes the task's .beam.
      beam_dir = Path.expand("../../_build/mix_tasks", __DIR__)

      script = """
      IO.puts("ready \#{System.pid()}")
      Mix.Tasks.Compile.Resin.cmd_ended_with_beam("sh", ["-c", "sleep #{marker} & sleep #{marker}"], [])
      """

      vm =
        Port.open({:spawn_executable, System.find_executable("elixir")}, [
          :binary,
          :exit_status,
          {:line, 1024},
          args: ["-pa", beam_dir, "-e", script]
        ])

      {:os_pid, vm_os_pid} = Port.info(vm, :os_pid)

      on_exit(fn ->
        System.cmd("kill", ["-9", Integer.to_string(vm_os_pid)], stderr_to_stdout: true)
      end)

      assert_receive {^vm, {:data, {:eol, "ready " <> beam}}}, 30_000

      sleepers =
        eventually(
          fn -> match?([_, _], find_argv(["sleep", marker])) && find_argv(["sleep", marker]) end,
          10_000,
          "both sleeps"
        )

      {_, 0} = System.cmd("kill", ["-9", beam])
      assert_receive {^vm, {:exit_status, 137}}, 5_000

      eventually(
        fn -> not Enum.any?(sleepers, &alive?/1) end,
        10_000,
        "the program's group to die"
      )
    end
  end

  # As root, as the suite runs: entries are planted as root's (this user's) and as uid 65534's.
  describe "the build cache" do
    setup do
      cache = Path.join(System.tmp_dir!(), "lacca-cache-#{System.unique_integer([:positive])}")
      File.mkdir_p!(cache)
      File.chmod!(cache, 0o700)
      shell = Mix.shell()
      Mix.shell(Mix.Shell.Process)

      on_exit(fn ->
        Mix.shell(shell)
        File.rm_rf!(cache)
      end)

      # What CMake just built, stripped, with its debug information beside it.
      built = Path.join(cache, "built/resin")
      File.mkdir_p!(Path.dirname(built))
      File.cp!("/bin/true", built)
      File.write!(built <> ".debug", "debug information")

      %{
        cache: cache,
        entry: Path.join(cache, "resin-0123456789abcdef0123456789abcdef"),
        built: built
      }
    end

    defp plant(entry, mode, uid) do
      File.mkdir_p!(entry)
      resin = Path.join(entry, "resin")
      File.write!(resin, "#!/bin/sh\necho planted\n")
      File.chmod!(resin, mode)
      File.chmod!(entry, mode)
      :ok = File.chown(resin, uid)
      :ok = File.chown(entry, uid)
    end

    defp stored_resin_is_the_one_built(built, entry, cache, problem) do
      planted = File.read!(Path.join(entry, "resin"))
      installed = Resin.store_in_cache(built, entry, cache)

      assert File.read!(installed) == File.read!(built)
      assert File.read!(installed) != planted
      assert File.read!(Path.join(entry, "resin")) == planted

      assert_received {:mix_shell, :error, [message]}
      assert message =~ entry
      assert message =~ problem
      refute_received {:mix_shell, :error, _}
    end

    test "storing over a group-writable entry installs the resin just built, not the entry's",
         %{cache: cache, entry: entry, built: built} do
      plant(entry, 0o775, 0)
      stored_resin_is_the_one_built(built, entry, cache, "writable by its group")
    end

    test "storing over an entry of another user's installs the resin just built, not the entry's",
         %{cache: cache, entry: entry, built: built} do
      plant(entry, 0o755, 65534)
      stored_resin_is_the_one_built(built, entry, cache, "owned by uid 65534")
    end

    test "storing where there is no entry makes one, which is then used",
         %{cache: cache, entry: entry, built: built} do
      assert Resin.cached(entry) == :missing
      assert Resin.store_in_cache(built, entry, cache) == built
      assert Resin.cached(entry) == {:ok, File.read!(built)}
      assert File.read!(Path.join(entry, "resin.debug")) == "debug information"
      assert Path.wildcard(Path.join(cache, "*.tmp-*")) == []
      refute_received {:mix_shell, :error, _}
    end

    test "an entry is used only if it and its resin are this user's and writable by no one else",
         %{entry: entry} do
      resin = Path.join(entry, "resin")
      plant(entry, 0o755, 0)
      assert {:ok, "#!/bin/sh\necho planted\n"} = Resin.cached(entry)

      File.chmod!(resin, 0o757)
      assert Resin.cached(entry) == {:untrusted, resin, "is writable by others (mode 757)"}

      File.chmod!(resin, 0o755)
      File.chmod!(entry, 0o775)
      assert Resin.cached(entry) == {:untrusted, entry, "is writable by its group (mode 775)"}

      File.chmod!(entry, 0o755)
      :ok = File.chown(resin, 65534)

      assert Resin.cached(entry) ==
               {:untrusted, resin, "is owned by uid 65534, not by this user (uid 0)"}
    end

    # The link and its target both pass the owner and mode checks; following it would read a file
    # the entry does not hold.
    test "a symbolic link in an entry is not followed", %{cache: cache, entry: entry} do
      File.mkdir_p!(entry)
      File.chmod!(entry, 0o755)
      target = Path.join(cache, "elsewhere")
      File.write!(target, "not resin")
      File.chmod!(target, 0o755)
      File.ln_s!(target, Path.join(entry, "resin"))

      assert Resin.cached(entry) == {:untrusted, Path.join(entry, "resin"), "is a symbolic link"}

      File.rm_rf!(entry)
      File.ln_s!(Path.dirname(target), entry)
      assert Resin.cached(entry) == {:untrusted, entry, "is a symbolic link"}
    end
  end

  # The whole CMake path, with a stand-in cmake that "builds" a copy of /bin/true (no C++ is built)
  # into a scratch _build (MIX_BUILD_PATH), a scratch cache and sources with a profile.
  # As root, like the cache's tests.
  describe "a build with CMake" do
    setup do
      root = Path.join(System.tmp_dir!(), "lacca-build-#{System.unique_integer([:positive])}")
      bin = Path.join(root, "bin")
      source = sources(Path.join(root, "resin"))
      File.write!(Path.join(source, "config/default.json"), "{}\n")
      File.mkdir_p!(bin)

      for tool <- ["make", "pkg-config"], do: script(bin, tool, "exit 0")

      # Stand-in compilers: a fixed --version, and the static libraries in a directory of the test's.
      libs = Path.join(root, "libs")
      File.mkdir_p!(libs)

      for lib <- ~w(libseccomp.a libcap.a libc.a libm.a libstdc++.a libgcc.a libgcc_eh.a rcrt1.o),
          do: File.write!(Path.join(libs, lib), "archive #{lib}\n")

      version = Path.join(root, "version")
      File.write!(version, "c++ (Stand-in) 13.2.0\n")

      for tool <- ["c++", "cc"] do
        script(bin, tool, """
        case "$1" in
          --version) cat #{version} ;;
          -print-file-name=*) echo #{libs}/"${1#-print-file-name=}" ;;
        esac
        """)
      end

      script(bin, "cmake", """
      [ "$1" = --build ] || exit 0
      mkdir -p "$2/src/host" && cp /bin/true "$2/src/host/resin"
      """)

      cache = Path.join(root, "cache")
      File.mkdir_p!(cache)
      File.chmod!(cache, 0o700)

      env = %{
        "PATH" => bin <> ":" <> System.get_env("PATH"),
        "MIX_BUILD_PATH" => Path.join(root, "_build/test"),
        "LACCA_RESIN_CACHE" => cache,
        "LACCA_RESIN_PATH" => nil,
        "CXX" => Path.join(bin, "c++"),
        "CC" => Path.join(bin, "cc")
      }

      previous = Map.new(env, fn {name, _} -> {name, System.get_env(name)} end)
      shell = Mix.shell()
      Mix.shell(Mix.Shell.Process)

      on_exit(fn ->
        Enum.each(previous, fn
          {name, nil} -> System.delete_env(name)
          {name, value} -> System.put_env(name, value)
        end)

        Mix.shell(shell)
        File.rm_rf!(root)
      end)

      Enum.each(env, fn
        {name, nil} -> System.delete_env(name)
        {name, value} -> System.put_env(name, value)
      end)

      %{
        project: [resin_source: source],
        priv: Path.join(root, "priv"),
        cache: cache,
        libs: libs,
        version: version
      }
    end

    defp entries(cache), do: Path.wildcard(Path.join(cache, "resin-*"))

    test "a static library upgraded is a new cache entry, not the resin linked with the old one",
         %{project: project, priv: priv, cache: cache, libs: libs} do
      assert Resin.install(project, priv)
      assert [_entry] = entries(cache)

      for {lib, count} <- [{"libseccomp.a", 2}, {"libc.a", 3}] do
        File.write!(Path.join(libs, lib), "archive #{lib}, with a security fix\n")
        Resin.install(project, priv)
        assert length(entries(cache)) == count, "#{lib} changed, and the cached resin was used"
      end

      refute_received {:mix_shell, :error, _}
    end

    test "another compiler version is a new cache entry",
         %{project: project, priv: priv, cache: cache, version: version} do
      assert Resin.install(project, priv)
      assert [_entry] = entries(cache)

      File.write!(version, "c++ (Stand-in) 13.3.0\n")
      Resin.install(project, priv)
      assert length(entries(cache)) == 2
      refute_received {:mix_shell, :error, _}
    end

    # resin bakes in the path of its sources' config/: one built at a path must not serve another.
    test "the same sources at another path are a new cache entry",
         %{project: project, priv: priv, cache: cache} do
      assert Resin.install(project, priv)
      Resin.install(project, priv)
      assert [_entry] = entries(cache)

      source = project[:resin_source]
      copy = Path.join(Path.dirname(source), "resin-copy")
      File.cp_r!(source, copy)
      Resin.install([resin_source: copy], priv)
      assert length(entries(cache)) == 2
      refute_received {:mix_shell, :error, _}
    end

    # CMake keeps the compilers it was configured with, whatever CC and CXX say later.
    test "the compilers in the CMake cache are the ones the key names, once configured",
         %{project: project, priv: priv, cache: cache, version: version} do
      bin = Path.dirname(System.get_env("CXX"))
      build_dir = Path.join(Path.dirname(cache), "_build/resin-cmake")
      File.mkdir_p!(build_dir)

      File.write!(Path.join(build_dir, "CMakeCache.txt"), """
      CMAKE_CXX_COMPILER:FILEPATH=#{bin}/c++
      CMAKE_C_COMPILER:FILEPATH=#{bin}/cc
      """)

      assert Resin.install(project, priv)
      assert [_entry] = entries(cache)

      File.cp!(Path.join(bin, "c++"), Path.join(bin, "other-c++"))
      System.put_env("CXX", Path.join(bin, "other-c++"))
      Resin.install(project, priv)
      assert [_entry] = entries(cache)

      File.write!(version, "c++ (Stand-in) 13.3.0\n")
      Resin.install(project, priv)
      assert length(entries(cache)) == 2
      refute_received {:mix_shell, :error, _}
    end

    test "a build CMake made with another compiler than the key named is installed, not cached",
         %{project: project, priv: priv, cache: cache, version: version} do
      bin = Path.dirname(System.get_env("CXX"))
      other = Path.join(bin, "other-c++")

      File.write!(
        other,
        File.read!(Path.join(bin, "c++")) |> String.replace(version, other <> ".version")
      )

      File.chmod!(other, 0o755)
      File.write!(other <> ".version", "c++ (Other) 14.1.0\n")

      # Configuring, it settles on other-c++, whatever CXX says.
      script(bin, "cmake", """
      if [ "$1" = --build ]; then
        mkdir -p "$2/src/host" && cp /bin/true "$2/src/host/resin"; exit 0
      fi
      mkdir -p "$4"
      printf 'CMAKE_CXX_COMPILER:FILEPATH=#{other}\\nCMAKE_C_COMPILER:FILEPATH=#{bin}/cc\\n' \\
        >"$4/CMakeCache.txt"
      """)

      assert Resin.install(project, priv)

      assert File.read!(Path.join(priv, "resin")) ==
               File.read!(Path.join(Path.dirname(cache), "_build/resin"))

      assert entries(cache) == []
      assert_received {:mix_shell, :error, [message]}
      assert message =~ "resin was not cached: its sources, or the compilers CMake used"
      refute_received {:mix_shell, :error, _}
    end

    test "a build whose static library cannot be found is installed, not cached, and says so once",
         %{project: project, priv: priv, cache: cache, libs: libs} do
      File.rm!(Path.join(libs, "libcap.a"))

      assert Resin.install(project, priv)
      # What CMake just built, stripped: the resin last built is kept in _build/resin.
      assert File.read!(Path.join(priv, "resin")) ==
               File.read!(Path.join(Path.dirname(cache), "_build/resin"))

      assert entries(cache) == []
      assert_received {:mix_shell, :error, [message]}
      assert message =~ "libcap.a cannot be found"
      assert message =~ "not cached"
      refute_received {:mix_shell, :error, _}
    end

    defp script(bin, name, body) do
      path = Path.join(bin, name)
      File.write!(path, "#!/bin/sh\n" <> body)
      File.chmod!(path, 0o755)
    end

    test "an entry that fails the trust check is reported once, and the resin just built installed",
         %{project: project, priv: priv, cache: cache} do
      assert Resin.install(project, priv)
      assert [entry] = Path.wildcard(Path.join(cache, "resin-*"))
      resin = Path.join(entry, "resin")
      # Every build of these sources gives these bytes: /bin/true, stripped, with a debuglink.
      built = File.read!(Path.join(priv, "resin"))
      assert File.read!(resin) == built

      planted = "#!/bin/sh\necho planted\n"

      for {mode, uid, problem} <- [
            {0o775, 0, "is writable by its group"},
            {0o755, 65534, "is owned by uid 65534"}
          ] do
        File.write!(resin, planted)
        File.chmod!(resin, mode)
        :ok = File.chown(resin, uid)
        File.rm!(Path.join(priv, "resin"))

        Resin.install(project, priv)

        assert File.read!(Path.join(priv, "resin")) == built
        assert File.read!(resin) == planted
        assert_received {:mix_shell, :error, [message]}
        assert message =~ "#{resin} is "
        assert message =~ problem
        refute_received {:mix_shell, :error, _}
      end

      # The same entry, this user's again and writable by no one else, is used as it is.
      :ok = File.chown(resin, 0)
      File.chmod!(resin, 0o755)
      Resin.install(project, priv)
      assert File.read!(Path.join(priv, "resin")) == planted
      refute_received {:mix_shell, :error, _}
    end

    defp install_with_cache(project, priv, cache) do
      System.put_env("LACCA_RESIN_CACHE", cache)
      Resin.install(project, priv)
    end

    test "a cache below a directory someone else can write or owns is refused",
         %{project: project, priv: priv, cache: cache} do
      open = Path.join(Path.dirname(cache), "open")
      File.mkdir_p!(open)
      File.chmod!(open, 0o777)

      error = assert_raise Mix.Error, fn -> install_with_cache(project, priv, "#{open}/cache") end
      assert error.message =~ "the resin build cache #{open}/cache is not safe: #{open} is "

      assert error.message =~
               "writable by its group and others (mode 777), so someone else could replace it"

      File.chmod!(open, 0o755)
      :ok = File.chown(open, 65534)
      error = assert_raise Mix.Error, fn -> install_with_cache(project, priv, "#{open}/cache") end
      assert error.message =~ "#{open} is owned by uid 65534, not by root or this user"
      refute File.exists?(Path.join(priv, "resin"))

      # Sticky, as /tmp (above every cache of these tests) is: only an entry's owner may move it.
      :ok = File.chown(open, 0)
      # File.chmod! leaves the sticky bit out.
      {"", 0} = System.cmd("chmod", ["1777", open])
      assert install_with_cache(project, priv, "#{open}/cache")
      assert [_entry] = Path.wildcard("#{open}/cache/resin-*")
    end

    test "a cache reached through symbolic links is checked and used at its real path",
         %{project: project, priv: priv, cache: cache} do
      root = Path.dirname(cache)
      File.mkdir_p!(Path.join(root, "a/x/y"))
      File.ln_s!("x/y", Path.join(root, "a/b"))
      # The kernel takes a/b/.. as a/x/y/.., that is a/x, not a as Path.expand would.
      File.ln_s!("a/b/../cache", Path.join(root, "link"))
      real = Path.join(root, "a/x/cache")
      File.mkdir_p!(real)
      File.chmod!(real, 0o777)

      error = assert_raise Mix.Error, fn -> install_with_cache(project, priv, "#{root}/link") end
      assert error.message =~ "the resin build cache #{real} is writable by its group and others"

      File.chmod!(real, 0o700)
      assert install_with_cache(project, priv, "#{root}/link")
      assert [_entry] = Path.wildcard("#{real}/resin-*")
      assert Path.wildcard("#{cache}/resin-*") == []
    end
  end

  # Glob characters in a path name themselves only: `p[1]` is not `p1`, `a?b` and `a*b` not `axb`.
  describe "paths with glob characters" do
    setup do
      root = Path.join(System.tmp_dir!(), "lacca-glob-#{System.unique_integer([:positive])}")
      File.mkdir_p!(root)
      shell = Mix.shell()
      Mix.shell(Mix.Shell.Process)

      on_exit(fn ->
        Mix.shell(shell)
        File.rm_rf!(root)
      end)

      %{root: root}
    end

    for name <- ["p[1]", "q{1}"] do
      test "the cache key covers src/ below a directory named like #{name}", %{root: root} do
        source = sources(Path.join([root, unquote(name), "resin"]))
        key = Resin.source_key(source)

        File.write!(Path.join(source, "src/host/main.cpp"), "int main() { return 1; }\n")
        assert Resin.source_key(source) != key
      end
    end

    for name <- ["a?b", "a*b"] do
      test "the cache key covers its own src/ below #{name}, and only that", %{root: root} do
        source = sources(Path.join([root, unquote(name), "resin"]))
        sibling = sources(Path.join(root, "axb/resin"))
        key = Resin.source_key(source)

        File.write!(Path.join(sibling, "src/host/main.cpp"), "int main() { return 2; }\n")
        assert Resin.source_key(source) == key

        File.write!(Path.join(source, "src/host/main.cpp"), "int main() { return 1; }\n")
        assert Resin.source_key(source) != key
      end
    end

    test "pruning a cache whose path holds ? never touches a sibling's entries", %{root: root} do
      cache = Path.join(root, "c?che")
      sibling = Path.join(root, "cache")
      built = Path.join(root, "built/resin")
      File.mkdir_p!(Path.dirname(built))
      File.cp!("/bin/true", built)
      File.write!(built <> ".debug", "debug information")
      now = System.os_time(:second)

      # The sibling's entries are newer than the cache's own old ones.
      entries = fn dir, ages ->
        for age <- ages do
          entry = Path.join(dir, "resin-#{age}")
          File.mkdir_p!(entry)
          File.touch!(entry, now - age)
          entry
        end
      end

      [_oldest | kept] = entries.(cache, [300, 200, 100])
      siblings = entries.(sibling, [30, 20, 10])
      File.chmod!(cache, 0o700)

      new = Path.join(cache, "resin-new")
      assert Resin.store_in_cache(built, new, cache) == built

      assert Enum.filter(siblings, &File.dir?/1) == siblings
      assert Enum.sort(File.ls!(cache)) == Enum.sort(Enum.map([new | kept], &Path.basename/1))
      refute_received {:mix_shell, :error, _}
    end

    test "the profiles copied are those of the sources' own config/", %{root: root} do
      System.put_env("LACCA_RESIN_PATH", "/bin/true")
      source = sources(Path.join(root, "p[1]/resin"))
      File.write!(Path.join(source, "config/own.json"), "{}\n")
      File.write!(Path.join(source, "config/.hidden.json"), "{}\n")
      File.write!(Path.join(source, "config/notes.txt"), "not a profile\n")
      sibling = sources(Path.join(root, "p1/resin"))
      File.write!(Path.join(sibling, "config/sibling.json"), "{}\n")
      priv = Path.join(root, "priv")

      assert Resin.install([resin_source: source], priv)
      assert File.ls!(Path.join(priv, "config")) == ["own.json"]
    end
  end

  describe "sources that are not there" do
    setup do
      root = Path.join(System.tmp_dir!(), "lacca-sources-#{System.unique_integer([:positive])}")
      prebuilt = Path.join(root, "prebuilt-resin")
      File.mkdir_p!(root)
      File.write!(prebuilt, "a prebuilt resin")
      cache = System.get_env("LACCA_RESIN_CACHE")

      on_exit(fn ->
        if cache,
          do: System.put_env("LACCA_RESIN_CACHE", cache),
          else: System.delete_env("LACCA_RESIN_CACHE")

        File.rm_rf!(root)
      end)

      %{root: root, prebuilt: prebuilt, priv: Path.join(root, "priv")}
    end

    test "with LACCA_RESIN_PATH set, the error says the profiles come from the sources",
         %{root: root, prebuilt: prebuilt, priv: priv} do
      System.put_env("LACCA_RESIN_PATH", prebuilt)
      source = Path.join(root, "resin")

      message = install_error(source, priv)
      assert message =~ "#{source} does not exist"
      assert message =~ "LACCA_RESIN_PATH (#{prebuilt}) stands in for the resin executable only"
      assert message =~ "profiles (config/*.json) are always copied from the sources' config/"
      assert message =~ "set :resin_source in lacca's mix.exs to that repository's root"
      refute message =~ "set LACCA_RESIN_PATH"

      File.mkdir_p!(source)
      assert install_error(source, priv) =~ "#{source} has no config/"
      File.mkdir_p!(Path.join(source, "config"))
      assert install_error(source, priv) =~ "#{source}/config holds no profile (*.json)"

      # Nothing is installed without the profiles, not even the prebuilt resin.
      refute File.exists?(priv)
    end

    test "without LACCA_RESIN_PATH, sources with profiles but no CMake files say what to do",
         %{root: root, priv: priv} do
      System.delete_env("LACCA_RESIN_PATH")
      System.put_env("LACCA_RESIN_CACHE", "off")
      source = Path.join(root, "resin")
      File.mkdir_p!(Path.join(source, "config"))
      File.write!(Path.join(source, "config/default.json"), "{}")

      message = install_error(source, priv)
      assert message =~ "resin cannot be built: its sources in #{source}"
      assert message =~ "have no CMakeLists.txt and no src/host/CMakeLists.txt"
      assert message =~ "or set LACCA_RESIN_PATH to a prebuilt resin executable"
      assert message =~ "the profiles are still copied from #{source}/config"
      refute File.exists?(priv)

      File.rm_rf!(Path.join(source, "config"))
      message = install_error(source, priv)
      assert message =~ "#{source} has no config/"
      assert message =~ "lacca builds resin from those sources, and copies resin's profiles"
      refute message =~ "LACCA_RESIN_PATH"
    end

    defp install_error(source, priv) do
      assert_raise(Mix.Error, fn -> Resin.install([resin_source: source], priv) end).message
    end
  end

  # A minimal tree of resin's sources: what the task hashes and checks for.
  defp sources(dir) do
    File.mkdir_p!(Path.join(dir, "src/host"))
    File.mkdir_p!(Path.join(dir, "config"))
    File.write!(Path.join(dir, "CMakeLists.txt"), "project(resin CXX)\n")
    File.write!(Path.join(dir, "src/host/CMakeLists.txt"), "add_executable(resin)\n")
    File.write!(Path.join(dir, "src/host/main.cpp"), "int main() {}\n")
    dir
  end
end
