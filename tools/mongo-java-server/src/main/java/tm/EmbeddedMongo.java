package tm;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.ServerVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Usage: EmbeddedMongo <host> <port> memory | EmbeddedMongo <host> <port> h2 <file>
 * Announces MongoDB 5.0 (wire version 13): the Node driver 7 needs wire version 8 or later.
 * Prints "ready <port>" once bound; closes the backend (H2: flushes the file) on SIGTERM.
 */
public final class EmbeddedMongo {
  public static void main(String[] args) {
    if (args.length < 3) {
      System.err.println("usage: EmbeddedMongo <host> <port> memory|h2 [file]");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    MongoBackend backend;
    if ("h2".equals(args[2])) {
      if (args.length < 4) {
        System.err.println("the h2 backend needs a file");
        System.exit(2);
      }
      backend = new H2Backend(args[3]);
    } else if ("memory".equals(args[2])) {
      backend = new MemoryBackend();
    } else {
      System.err.println("unknown backend: " + args[2]);
      System.exit(2);
      return;
    }
    backend.version(ServerVersion.MONGO_5_0);
    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "shutdown"));
    System.out.println("ready " + server.getLocalAddress().getPort());
    System.out.flush();
  }
}
